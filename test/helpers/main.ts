import { main } from '../../cli/main';

/** Runs the command line's main() in this process, capturing what it writes on stdout and stderr. */
export async function runMain(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const so = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const se = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(['node', 's3-direct-transfer', ...args]);
    return { code, stdout, stderr };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}
