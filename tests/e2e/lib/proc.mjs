// /proc inspection: liveness, parents, command lines, environments, descendants, descriptors, memory.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { sleep } from './time.mjs';

/** The pids in /proc now. */
export function pids() {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** {state, ppid, session} from /proc/<pid>/stat, or null when it is gone. */
export function procStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0], ppid: Number(f[1]), session: Number(f[3]) };
  } catch {
    return null;
  }
}

/** True while `pid` exists and is not a zombie (a zombie has already exited). */
export function alive(pid) {
  const s = procStat(pid);
  return s !== null && s.state !== 'Z';
}

/** The parent pid, or -1 when the process is gone. */
export function ppid(pid) {
  return procStat(pid)?.ppid ?? -1;
}

/** The process's argv ([] when it is gone). */
export function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s, i, a) => i < a.length - 1 || s);
  } catch {
    return [];
  }
}

/** Polls until none of `pids` is alive; returns those still alive after `ms`. */
export async function waitGone(pidList, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pidList.some(alive)) return [];
    await sleep(50);
  }
  return pidList.filter(alive);
}

/** Live processes (not this one) whose environment holds `entry` ("NAME=value"): [{pid, cmd}]. */
export function processesWithEnv(entry) {
  const out = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry) && alive(pid)) out.push({ pid, cmd: cmdline(pid).join(' ') });
    } catch { /* gone, or not readable */ }
  }
  return out;
}

/** Live processes whose command line contains `needle` (for orphan hunting). */
export function processesMatching(needle) {
  const out = [];
  for (const pid of pids()) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(needle) && alive(pid)) out.push({ pid, cmd });
    } catch { /* raced with its exit */ }
  }
  return out;
}

/** Live descendants of `root` (by ppid), walking the whole of /proc once. */
export function descendants(root) {
  const kids = new Map();
  for (const pid of pids()) {
    const s = procStat(pid);
    if (!s || s.state === 'Z') continue;
    if (!kids.has(s.ppid)) kids.set(s.ppid, []);
    kids.get(s.ppid).push(pid);
  }
  const out = [];
  const todo = [root];
  while (todo.length) for (const k of kids.get(todo.pop()) ?? []) { out.push(k); todo.push(k); }
  return out;
}

/** What a process's descriptors point at ("pipe:[N]", "socket:[N]", paths), by fd. */
export function fdTargets(pid) {
  const out = {};
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try { out[fd] = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { /* closed meanwhile */ }
    }
  } catch { /* gone */ }
  return out;
}

/** VmRSS in kB (0 when gone). */
export function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
