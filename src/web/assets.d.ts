// esbuild bundles the stylesheet that main.ts imports; TypeScript only needs to know the import exists.
declare module '*.css';
