// The shape every bench module returns; bench/main.ts prints and saves them.
export interface BenchReport {
  title: string;
  rows: Array<Record<string, string | number>>;
  notes: string[];
}

export interface BenchOptions {
  /** Shorter runs (CI smoke, quick local checks). */
  quick: boolean;
}
