/**
 * The version and commit this build was made from: scripts/build/bundle.mjs
 * puts them in (esbuild's `define`); a run from sources without a bundle
 * (the unit tests) has neither.
 */
declare const __ASYNCDEMO_VERSION__: string | undefined;
declare const __ASYNCDEMO_COMMIT__: string | undefined;

export const BUILD: { readonly version: string | undefined; readonly commit: string | undefined } = {
  version: typeof __ASYNCDEMO_VERSION__ === 'string' ? __ASYNCDEMO_VERSION__ : undefined,
  commit: typeof __ASYNCDEMO_COMMIT__ === 'string' ? __ASYNCDEMO_COMMIT__ : undefined,
};
