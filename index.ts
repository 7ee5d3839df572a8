// anycast-kit's public entry: the shared DNS wire codec. Each part has its own
// export path (anycast-kit/resolver, /healthcheck, /node, /ios-templates, /loadtest).
export * from './dns/index.js';
