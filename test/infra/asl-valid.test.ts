/**
 * The state machine definition CDK synthesizes is valid Amazon States Language, as asl-validator checks
 * it; what asl-validator does not look into (ItemReader.ReaderConfig, ResultWriter.WriterConfig) is
 * checked here and through the local host's Distributed Map adapter, which refuses what it cannot run.
 */
import validateAsl from 'asl-validator';
import { loadDefinitionArtifact, resolveDefinition } from '../../local/definition/artifact';
import { isObject, type StateDefinition } from '../../local/stepfunctions/asl';
import { isDistributedMap, planDistributedMap } from '../../local/stepfunctions/distributed-map/definition';
import { synthesizeStack, type Json } from './helpers';

const synth = synthesizeStack();
const synthesized = synth.error ? {} : resolveDefinition(synth.template).definition;

/** asl-validator's verdict on a copy: it writes into what it is given. */
function validate(definition: object): ReturnType<typeof validateAsl> {
  return validateAsl(structuredClone(definition), { checkArn: true, checkPaths: true });
}

/** Every Distributed Map state of a definition, by name, Map and Parallel children included. */
function distributedMaps(definition: Json): [string, StateDefinition][] {
  const found: [string, StateDefinition][] = [];
  const visit = (machine: unknown): void => {
    if (!isObject(machine) || !isObject(machine.States)) return;
    for (const [name, state] of Object.entries(machine.States as Record<string, StateDefinition>)) {
      if (isDistributedMap(state)) found.push([name, state]);
      visit(state.ItemProcessor);
      visit(state.Iterator);
      if (Array.isArray(state.Branches)) state.Branches.forEach(visit);
    }
  };
  visit(definition);
  return found;
}

const WRITER_CONFIG = { Transformation: ['NONE', 'COMPACT', 'FLATTEN'], OutputType: ['JSON', 'JSONL'] };

describe('the synthesized state machine definition', () => {
  it('is synthesized', () => {
    expect(synth.error).toBeUndefined();
    expect(Object.keys((synthesized as Json).States as Json)).toContain('CopyObjects');
  });

  it.each([
    ['synthesized from the CDK app', () => synthesized],
    [
      'committed as local/definition/definition.json (what `run` executes)',
      () => loadDefinitionArtifact().definition,
    ],
  ])('is valid ASL for asl-validator, and is left unchanged by it: %s', (_which, definitionOf) => {
    const definition = definitionOf();
    const before = structuredClone(definition);
    const verdict = validate(definition);
    expect(verdict.errorsText()).toBe('');
    expect(verdict.isValid).toBe(true);
    expect(definition).toEqual(before);
    // Why it gets a copy: given the definition itself, it writes into it (each state's QueryLanguage).
    const given = structuredClone(definition);
    validateAsl(given);
    expect(given).not.toEqual(before);
  });

  it('reads its Distributed Map items as JSONL, and writes results without a WriterConfig or with a valid one', () => {
    const maps = distributedMaps(synthesized as Json);
    expect(maps.map(([name]) => name)).toEqual(['CopyObjects']);
    for (const [name, state] of maps) {
      const reader = state.ItemReader as Json;
      expect(reader.ReaderConfig).toMatchObject({ InputType: 'JSONL' });
      const writerConfig = (state.ResultWriter as Json | undefined)?.WriterConfig as Json | undefined;
      if (writerConfig !== undefined) {
        expect(WRITER_CONFIG.Transformation).toContain(writerConfig.Transformation ?? 'NONE');
        expect(WRITER_CONFIG.OutputType).toContain(writerConfig.OutputType ?? 'JSON');
      }
      // The local host's adapter checks them too: it would refuse the definition when loading it.
      const { plan } = planDistributedMap(name, state);
      expect(plan.readerInputType).toBe('JSONL');
      expect(plan.writesResults).toBe(true);
    }
  });
});

describe('the checks fail for an invalid definition', () => {
  const states = () => structuredClone((synthesized as Json).States) as Record<string, Json>;

  it('asl-validator refuses a Next that names no state', () => {
    const broken = {
      ...(synthesized as Json),
      States: { ...states(), Plan: { ...states().Plan, Next: 'Nowhere' } },
    };
    const verdict = validate(broken);
    expect(verdict.isValid).toBe(false);
    expect(verdict.errorsText()).toMatch(/MISSING_TRANSITION_TARGET.*Nowhere/);
  });

  it.each([
    [
      'a ReaderConfig InputType other than JSONL or JSON',
      { ReaderConfig: { InputType: 'CSV' } },
      'ItemReader',
      /InputType CSV/,
    ],
    ['no ReaderConfig InputType', { ReaderConfig: {} }, 'ItemReader', /InputType undefined/],
    [
      'an unknown ReaderConfig field',
      { ReaderConfig: { InputType: 'JSONL', CSVHeaders: ['a'] } },
      'ItemReader',
      /CSVHeaders/,
    ],
    [
      'a WriterConfig Transformation that is not NONE',
      { WriterConfig: { Transformation: 'FLATTEN' } },
      'ResultWriter',
      /WriterConfig/,
    ],
    [
      'a WriterConfig OutputType that is not JSON',
      { WriterConfig: { OutputType: 'JSONL' } },
      'ResultWriter',
      /WriterConfig/,
    ],
    ['an unknown WriterConfig field', { WriterConfig: { Format: 'x' } }, 'ResultWriter', /Format/],
  ])('the Distributed Map adapter refuses %s', (_what, change, field, message) => {
    const map = states().CopyObjects;
    const changed = { ...map, [field]: { ...(map[field] as Json), ...change } } as StateDefinition;
    expect(() => planDistributedMap('CopyObjects', changed)).toThrow(message);
  });
});
