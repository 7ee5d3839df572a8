// A configuration command, the unit both the dialects (dialect.ts, which writes the
// command forms) and the switch model (model.ts, which orders them into blocks) work
// in. It sits in its own file so that dialect.ts and model.ts do not import each other.

/** A configuration command and, if it enters a sub-mode, the commands inside it. */
export interface Cmd {
  text: string;
  children?: Cmd[];
  /** Command that leaves the sub-mode, printed at the opener's indent (IOS exit-address-family). */
  close?: string;
}
