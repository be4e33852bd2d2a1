// The few functions of `ndarray-ops` that tapegrad uses (the package ships no types).
declare module 'ndarray-ops' {
  import type { NdArray } from 'ndarray';
  const ops: {
    assign(dest: NdArray, src: NdArray): NdArray;
    assigns(dest: NdArray, value: number): NdArray;
    [name: string]: (...args: never[]) => unknown;
  };
  export default ops;
}
