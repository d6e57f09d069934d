import { describe, expect, it } from 'vitest';
import { readRegistrationToken } from '../src/registration-token.js';

const TOKEN = 'tok+Abc/123==';

describe('readRegistrationToken', () => {
  it('reads the token from a parsed form body', () => {
    expect(readRegistrationToken({ 'x-amzn-marketplace-token': TOKEN })).toEqual({
      token: TOKEN,
      offerType: undefined,
      isFreeTrial: false,
    });
  });

  it('reads the token and a free-trial offer from the raw form body, decoding it', () => {
    const raw = `x-amzn-marketplace-token=${encodeURIComponent(TOKEN)}&x-amzn-marketplace-offer-type=free-trial`;
    expect(readRegistrationToken(raw)).toEqual({ token: TOKEN, offerType: 'free-trial', isFreeTrial: true });
  });

  it('reads the token from URLSearchParams', () => {
    const form = new URLSearchParams({ 'x-amzn-marketplace-token': TOKEN });
    expect(readRegistrationToken(form).token).toBe(TOKEN);
  });

  it.each([undefined, null, {}, '', 'other=1'])('refuses a body without a token (%j) as missing', (body) => {
    expect(() => readRegistrationToken(body)).toThrow(expect.objectContaining({ reason: 'missing' }));
  });

  it.each([
    ['a repeated field', { 'x-amzn-marketplace-token': [TOKEN, TOKEN] }],
    ['a token with a space (a + decoded on the way)', { 'x-amzn-marketplace-token': 'tok Abc/123==' }],
    ['a token of 10,000 characters', { 'x-amzn-marketplace-token': 'a'.repeat(10_000) }],
  ])('refuses %s as malformed', (_case, body) => {
    expect(() => readRegistrationToken(body)).toThrow(
      expect.objectContaining({ code: 'ERR_METERING_REGISTRATION_TOKEN_MALFORMED' }),
    );
  });
});
