// Starting, watching and stopping the server processes under test, and reading their CPU time and memory
// from /proc (Linux only).
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Clock ticks per second of utime and stime in /proc/PID/stat; 100 on Linux for x86_64 and arm64. */
const CLOCK_TICKS_PER_SECOND = 100;
const READY_TIMEOUT_MS = 30_000;

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Returns a process and its descendants, so that a server that forks workers (KIWIFORM_WORKERS above 1) is
 * measured whole. Needs /proc/PID/task/TID/children (Linux 3.5 or later).
 */
function processTree(pid) {
  const found = [pid];
  for (let i = 0; i < found.length; i += 1) {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${found[i]}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      try {
        const children = readFileSync(`/proc/${found[i]}/task/${task}/children`, 'utf8').trim();
        if (children) found.push(...children.split(' ').map(Number));
      } catch {
        // The thread ended while it was being read.
      }
    }
  }
  return found;
}

function ownCpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in parentheses may contain spaces, so the fields are counted after its closing bracket.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

function ownRssMiB(pid) {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
  return match ? Number(match[1]) / 1024 : 0;
}

/** Returns the CPU time (user plus system) a process and its descendants have used so far, in seconds. */
export function cpuSeconds(pid) {
  return processTree(pid).reduce((sum, id) => sum + ownCpuSeconds(id), 0);
}

/**
 * Returns CPU seconds so far: of the whole machine (busy, all cores), of this process, and of this process's
 * children that have ended and been waited for (the load generator, once its run is over).
 */
export function machineAndDriverCpu() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + fields[4];
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const self = readFileSync('/proc/self/stat', 'utf8');
  const own = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
  return {
    machineBusy: (total - idle) / CLOCK_TICKS_PER_SECOND,
    self: (own[11] + own[12]) / CLOCK_TICKS_PER_SECOND,
    waitedChildren: (own[13] + own[14]) / CLOCK_TICKS_PER_SECOND,
  };
}

/** Returns the resident set size of a process and its descendants in MiB. */
export function rssMiB(pid) {
  return processTree(pid).reduce((sum, id) => sum + ownRssMiB(id), 0);
}

/** Samples a process's RSS every `intervalMs` until stopped; `stop()` returns the maximum in MiB. */
export function sampleRss(pid, intervalMs = 200) {
  let max = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rssMiB(pid));
    } catch {
      // The process ended; the caller notices that on its own.
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        max = Math.max(max, rssMiB(pid));
      } catch {
        // Same as above.
      }
      return max;
    },
  };
}

/**
 * Starts a server process with its output going to `logFile`, then waits until it responds to HTTP on `port`.
 * Any status counts as ready, because the servers differ in which paths exist.
 */
export async function startServer({ name, command, args, env, cwd, port, logFile }) {
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} exited during start-up (code ${exited.code}, signal ${exited.signal}); see ${logFile}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      return { name, port, pid: child.pid, child, logFile, get exited() { return exited; } };
    } catch {
      await sleep(100);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not respond on port ${port} within ${READY_TIMEOUT_MS / 1000} s; see ${logFile}`);
}

/** Stops a server with SIGTERM, and with SIGKILL when it has not exited after `graceMs`. */
export async function stopServer(server, graceMs = 15_000) {
  if (server.exited) return;
  const done = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const finished = await Promise.race([done.then(() => true), sleep(graceMs).then(() => false)]);
  if (!finished) {
    server.child.kill('SIGKILL');
    await done;
  }
}

/** Runs a command to completion and returns its stdout; throws with its stderr when it fails. */
export function run(command, args, { cwd, env, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} failed with exit code ${code}: ${stderr.trim() || stdout.trim()}`));
    });
    child.stdin.end(input ?? '');
  });
}
