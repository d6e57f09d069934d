/** JSON error answers for the example, in the same shape as the Nest example's. */
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';

/** Answers an error in the same JSON shape as the Nest example: `{ statusCode, message, error }`. */
export function sendError(res: Response, statusCode: number, message: string): void {
  res.status(statusCode).json({ statusCode, message, error: STATUS_CODES[statusCode] ?? 'Error' });
}

/** 404 for anything no route matched. */
export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, `Cannot ${req.method} ${req.path}`);
};

/** Errors from handlers and body parsing: their own 4xx status when they carry one, else 500. */
export const errorHandler: ErrorRequestHandler = (
  error: { status?: number; message?: string },
  _req,
  res,
  next,
) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  const status =
    typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
  sendError(res, status, status === 500 ? 'Internal server error' : (error.message ?? 'Bad request'));
};
