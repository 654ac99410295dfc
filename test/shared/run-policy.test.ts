import { DEPLOYED_RUN_POLICY, ONE_MACHINE_POLICY, runPolicyFromEnv } from '../../shared/run-policy';

describe('runPolicyFromEnv', () => {
  it('reads what the stack sets: the allowlist, inline tokens and mirror deletions, each off unless "true"', () => {
    expect(
      runPolicyFromEnv({
        CREDENTIALS_ENDPOINTS: 'https://*.earthdatacloud.nasa.gov',
        ALLOW_INLINE_TOKENS: 'true',
        ALLOW_MIRROR_DELETES: 'true',
      }),
    ).toEqual({
      endpoints: { allowed: ['https://*.earthdatacloud.nasa.gov'], allowLoopback: false },
      allowInlineTokens: true,
      allowMirrorDeletes: true,
    });
    const defaults = runPolicyFromEnv({ ALLOW_MIRROR_DELETES: 'yes' });
    expect(defaults).toMatchObject({ allowInlineTokens: false, allowMirrorDeletes: false });
    expect(defaults.endpoints).toEqual(DEPLOYED_RUN_POLICY.endpoints);
  });

  it('lets one machine delete, and a deployment only when it opts in', () => {
    expect(ONE_MACHINE_POLICY.allowMirrorDeletes).not.toBe(false);
    expect(DEPLOYED_RUN_POLICY.allowMirrorDeletes).toBe(false);
  });
});
