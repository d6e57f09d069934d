// Emits the CommonJS half of each package's dual build (lib/cjs) from its TypeScript sources, after `tsc -b` has
// written the ES module half (lib/esm, with declarations).
//
// Each file is transpiled on its own (the sources are written for isolatedModules), so no second type check is needed;
// the declarations tsc wrote for lib/esm are copied beside the CommonJS files, and a `{"type": "commonjs"}` stub makes
// Node and TypeScript read that folder as CommonJS. `import.meta.url`, which CommonJS cannot parse, becomes the
// equivalent file URL of `__filename`; any other `import.meta` use fails the build.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const IMPORT_META_URL = /\bimport\.meta\.url\b/g;
const FILE_URL_OF_THIS_FILE = "require('node:url').pathToFileURL(__filename).href";

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

function buildPackage(packageDir) {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(packageDir, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  const srcDir = join(packageDir, 'src');
  const esmDir = join(packageDir, 'lib', 'esm');
  const cjsDir = join(packageDir, 'lib', 'cjs');
  if (!existsSync(esmDir)) throw new Error(`${esmDir} is missing: run tsc -b first`);
  rmSync(cjsDir, { recursive: true, force: true });
  const compilerOptions = {
    ...config.options,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    verbatimModuleSyntax: false,
    esModuleInterop: true,
    declaration: false,
    declarationMap: false,
    composite: false,
    sourceMap: true,
    inlineSources: false,
  };
  for (const file of config.fileNames) {
    if (file.endsWith('.d.ts')) continue;
    const outFile = join(cjsDir, relative(srcDir, file)).replace(/\.(c|m)?tsx?$/, '.js');
    const output = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions,
      fileName: file,
      reportDiagnostics: true,
    });
    const errors = (output.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length > 0) {
      throw new Error(
        `${file}: ${errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')}`,
      );
    }
    let code = output.outputText.replace(IMPORT_META_URL, FILE_URL_OF_THIS_FILE);
    if (/\bimport\.meta\b/.test(code))
      throw new Error(`${file}: import.meta has no CommonJS equivalent here`);
    const mapName = `${outFile.split('/').pop()}.map`;
    code = code.replace(/\/\/# sourceMappingURL=.*$/m, `//# sourceMappingURL=${mapName}`);
    const map = JSON.parse(output.sourceMapText);
    map.file = outFile.split('/').pop();
    map.sources = [relative(dirname(outFile), file)];
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, code);
    writeFileSync(`${outFile}.map`, JSON.stringify(map));
  }
  // Declarations are the same for both module systems; under lib/cjs TypeScript reads them as CommonJS.
  for (const file of walk(esmDir)) {
    if (!/\.d\.ts(\.map)?$/.test(file)) continue;
    const target = join(cjsDir, relative(esmDir, file));
    mkdirSync(dirname(target), { recursive: true });
    cpSync(file, target);
  }
  writeFileSync(join(cjsDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  writeFileSync(join(esmDir, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
}

const packagesDir = join(root, 'packages');
for (const name of readdirSync(packagesDir).sort()) {
  if (existsSync(join(packagesDir, name, 'tsconfig.json'))) buildPackage(join(packagesDir, name));
}
