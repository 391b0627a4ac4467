// The Lean simulator (tests/sim) for sessions: PATH with its bin dir first, and the small demo Lake project.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { simBin } from './paths.mjs';

/** PATH with the simulator's `lean` and `lake` first. */
export const simPath = () => `${simBin}:${process.env.PATH ?? '/usr/bin:/bin'}`;

/** Writes the demo Lake project into `dir`: lakefile.toml, lean-toolchain, Demo/A.lean (`a := 2`) and, unless `main` is false, Main.lean. */
export function writeDemoProject(dir, { main = true } = {}) {
  fs.mkdirSync(path.join(dir, 'Demo'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'lakefile.toml'), 'name = "demo"\n');
  fs.writeFileSync(path.join(dir, 'lean-toolchain'), 'leanprover/lean4:v4.28.0\n');
  fs.writeFileSync(path.join(dir, 'Demo/A.lean'), 'def a : Nat := 2\n');
  if (main) fs.writeFileSync(path.join(dir, 'Main.lean'), 'import Demo.A\n');
}

/** The demo project in `dir`, built with the simulator's lake: {dir, uri(rel)}. */
export function buildDemoProject(dir) {
  writeDemoProject(dir);
  execFileSync(path.join(simBin, 'lake'), ['build'], { cwd: dir, stdio: 'ignore', env: { ...process.env, PATH: simPath() } });
  return { dir, uri: (rel) => pathToFileURL(path.join(dir, rel)).href };
}
