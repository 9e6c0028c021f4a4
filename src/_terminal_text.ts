// Text from a user's files (file names, paths, keys, foreign error messages) made safe to print:
// a name can hold terminal escapes that recolour or rewrite the screen, newlines that forge log
// lines, or bidirectional overrides that reorder what is shown. Everything printed to a terminal
// from outside the program passes through one of these two functions.

// C0 and C1 controls, DEL, line/paragraph separators, and the bidirectional marks, embeddings,
// overrides and isolates (U+200E-F, U+202A-E, U+2066-9): none is needed to read a name.
const UNSAFE_CHAR =
  "[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]";
const UNSAFE = new RegExp(UNSAFE_CHAR, "g");
const HAS_UNSAFE = new RegExp(UNSAFE_CHAR);

function escapeOne(c: string): string {
  switch (c) {
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
  }
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * `text` with every control and bidirectional character written as a JSON-style escape
 * (`\n`, `\u001b`), for a message that is already meant to be printed as a whole.
 */
export function _escapeControls(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/**
 * A path or name from the user, for a message: as it is when it holds nothing a terminal would
 * act on, else in double quotes with those characters (and quotes and backslashes) escaped as
 * JSON does, so that what is shown cannot be mistaken for the message around it.
 */
export function _showName(name: string): string {
  if (!HAS_UNSAFE.test(name)) return name;
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`).replace(UNSAFE, escapeOne)}"`;
}
