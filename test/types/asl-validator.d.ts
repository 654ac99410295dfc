/** asl-validator 3 ships no types: what the tests use of it. */
declare module 'asl-validator' {
  interface StateMachineError {
    'Error code': string;
    Message: string;
  }
  interface ValidationOptions {
    checkPaths?: boolean;
    checkArn?: boolean;
  }
  /** Validates an Amazon States Language definition. It writes into `definition` (QueryLanguage defaults). */
  function validator(
    definition: object,
    options?: ValidationOptions,
  ): { isValid: boolean; errors: StateMachineError[]; errorsText(separator?: string): string };
  export = validator;
}
