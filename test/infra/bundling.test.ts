import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resourcesOfType, synthesizeStack, type Json } from './helpers';

// The one synthesis with real bundling (local esbuild, no Docker): what `cdk deploy` uploads.
const synth = synthesizeStack({ destinationBuckets: [{ bucketName: 'dest-a' }] }, { bundle: true });

describe('Lambda bundles', () => {
  it('bundles each Lambda with the local esbuild into one index.js with a source map', () => {
    expect(synth.error?.message).toBeUndefined();
    const outdir = synth.app.outdir;
    const functions = resourcesOfType(synth, 'AWS::Lambda::Function');
    const assetDirs = Object.entries(functions).map(([id, fn]) => {
      const key = ((fn.Code as Json).S3Key as string).replace(/\.zip$/, '');
      const dir = join(outdir, `asset.${key}`);
      expect({
        id,
        bundled: existsSync(join(dir, 'index.js')),
        map: existsSync(join(dir, 'index.js.map')),
      }).toEqual({
        id,
        bundled: true,
        map: true,
      });
      return dir;
    });
    expect(new Set(assetDirs).size).toBe(4);
    for (const dir of assetDirs) expect(readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
  });

  it('keeps the CDK app, the local host and the CLI out of the Lambdas', () => {
    for (const [id, fn] of Object.entries(resourcesOfType(synth, 'AWS::Lambda::Function'))) {
      const key = ((fn.Code as Json).S3Key as string).replace(/\.zip$/, '');
      const map = JSON.parse(
        readFileSync(join(synth.app.outdir, `asset.${key}`, 'index.js.map'), 'utf8'),
      ) as {
        sources: string[];
      };
      const forbidden = map.sources.filter((s) =>
        /(^|\/)(infra|local|cli)\/|node_modules\/(aws-cdk-lib|constructs|aws-local-stepfunctions|s3rver)\//.test(
          s,
        ),
      );
      expect({ id, forbidden }).toEqual({ id, forbidden: [] });
    }
  });
});
