/**
 * A varied vCard file of N cards drawn from a logged seed (`ZSYNC_VCARD_SEED` repeats a run):
 * vCard 2.1, 3.0 and 4.0 cards, Unicode and escaped names, names that repeat (any case), several
 * TEL/EMAIL, parameters and long folded lines, as exports from several address books are.
 */
import fc from "fast-check";

/** The seed of this run: `ZSYNC_VCARD_SEED` or a fresh one (printed by the caller). */
export const VCARD_SEED = process.env.ZSYNC_VCARD_SEED ? Number(process.env.ZSYNC_VCARD_SEED) : Date.now() % 2_147_483_647;
delete process.env.ZSYNC_VCARD_SEED; // zsync and zsync-server read ZSYNC_* variables as options

const FIRST = ["Ann", "Bob", "Chloé", "Dmitrij", "Émile", "Fatma", "Gregor", "Hana", "Ingrid", "Jürgen", "Kōji", "Léa", "Zoë", "José", "Анна", "李"];
const LAST = ["Example", "Builder", "Müller", "O'Neil", "Smith, Jr.", "van der Berg", "Nguyễn", "Øster", "Straße", "Petrov", "Ó Briain"];
const ESCAPE = (s: string) => s.replace(/\\/g, "\\\\").replace(/,/g, "\\,").replace(/;/g, "\\;");

const cardArb = fc.record({
  version: fc.constantFrom("2.1", "3.0", "4.0"),
  first: fc.constantFrom(...FIRST),
  last: fc.constantFrom(...LAST),
  upper: fc.boolean(),
  phones: fc.array(fc.integer({ min: 0, max: 9999 }), { maxLength: 3 }),
  emails: fc.array(fc.constantFrom("home", "work", ""), { maxLength: 3 }),
  note: fc.option(fc.integer({ min: 60, max: 200 }), { nil: undefined }),
});

/** The vCard text of `count` cards and the seed they came from. */
export function vcardFile(count: number, seed = VCARD_SEED): { text: string; seed: number } {
  const cards = fc.sample(cardArb, { seed, numRuns: count }).map((c, i) => {
    const name = `${c.first} ${c.last}`;
    const fn = c.upper ? name.toUpperCase() : name;
    const lines = ["BEGIN:VCARD", `VERSION:${c.version}`, `N:${ESCAPE(c.last)};${ESCAPE(c.first)};;;`, `FN:${ESCAPE(fn)}`];
    c.phones.forEach((n, j) =>
      lines.push(c.version === "2.1" ? `TEL;${j === 0 ? "CELL" : "HOME"};VOICE:+1 555 ${String(n).padStart(4, "0")}` : `TEL;TYPE=${j === 0 ? "cell" : "home"}:+1 555 ${String(n).padStart(4, "0")}`),
    );
    c.emails.forEach((type, j) => {
      const address = `p${i}.${j}@example.org`;
      lines.push(c.version === "2.1" ? `EMAIL;INTERNET${type ? ";" + type.toUpperCase() : ""}:${address}` : `EMAIL${type ? `;TYPE=${type}` : ""}:${address}`);
    });
    if (c.note !== undefined) lines.push(`NOTE:${"Notiz über ".repeat(Math.ceil(c.note / 11)).slice(0, c.note)}`);
    if (c.version !== "2.1") lines.push(`UID:urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
    lines.push("END:VCARD");
    // Long lines folded as address books do (CRLF + space), never inside a UTF-8 character.
    return lines.map((l) => fold(l)).join("");
  });
  return { text: cards.join(""), seed };
}

function fold(line: string): string {
  const chars = [...line];
  let out = "";
  let width = 0;
  for (const ch of chars) {
    const bytes = Buffer.byteLength(ch);
    if (width + bytes > 75) {
      out += "\r\n ";
      width = 1;
    }
    out += ch;
    width += bytes;
  }
  return out + "\r\n";
}
