// asciichart ships no types; this covers the part tapegrad uses.
declare module 'asciichart' {
  export interface PlotConfig {
    height?: number;
    colors?: string[];
    format?: (x: number, i: number) => string;
  }
  export function plot(series: number[] | number[][], cfg?: PlotConfig): string;
  export const blue: string;
  export const green: string;
}
