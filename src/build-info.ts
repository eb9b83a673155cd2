/**
 * Which build this is, set by the bundle (scripts/build/bundle.mjs, through
 * esbuild's `define`, from package.json and git: scripts/build/version.mjs).
 * Where the sources run unbundled (the tests' tsc build) they are unknown.
 */
declare const ASYNCDEMO_BUILD_VERSION: string | undefined;
declare const ASYNCDEMO_BUILD_COMMIT: string | undefined;
declare const ASYNCDEMO_BUILD_CODE_CACHE_DIR: string | undefined;
declare const ASYNCDEMO_BUILD_DEBIAN_PACKAGE: string | undefined;

interface BuildInfo {
  /** 0.1.0+412.g47e54f4: package.json's version, the commit count and short hash (and .dirtyTIME for uncommitted changes). */
  readonly version: string;
  /** The full commit hash, or "unknown". */
  readonly commit: string;
  /** Where the start-up code cache lives when the build fixed it (the Debian package: /var/cache/asyncdemo); undefined: next to the bundle, or Node's own default. */
  readonly codeCacheDir: string | undefined;
  /** The Debian package this build was made for (scripts/package/), whose tools install and repair it; undefined: a checkout. */
  readonly debianPackage: string | undefined;
}

export const buildInfo: BuildInfo = {
  version: typeof ASYNCDEMO_BUILD_VERSION === 'string' ? ASYNCDEMO_BUILD_VERSION : 'unknown',
  commit: typeof ASYNCDEMO_BUILD_COMMIT === 'string' ? ASYNCDEMO_BUILD_COMMIT : 'unknown',
  codeCacheDir: typeof ASYNCDEMO_BUILD_CODE_CACHE_DIR === 'string' && ASYNCDEMO_BUILD_CODE_CACHE_DIR !== '' ? ASYNCDEMO_BUILD_CODE_CACHE_DIR : undefined,
  debianPackage: typeof ASYNCDEMO_BUILD_DEBIAN_PACKAGE === 'string' && ASYNCDEMO_BUILD_DEBIAN_PACKAGE !== '' ? ASYNCDEMO_BUILD_DEBIAN_PACKAGE : undefined,
};
