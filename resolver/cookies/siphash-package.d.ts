// Types for the `siphash` npm package (it ships none): only what siphash.ts uses.
declare module 'siphash' {
  const sip: {
    /** key: four 32-bit words (little-endian order); returns the 64-bit hash as high and low words. */
    hash(key: number[], message: Uint8Array | string): { h: number; l: number };
  };
  export default sip;
}
