/**
 * The one error `kubelab chaos` reports as a user's mistake or a refusal (a scenario field that is
 * wrong, a target that does not exist, a network fault the component cannot take): its message
 * says what and where, and the CLI prints it without a stack.
 */
export class ChaosError extends Error {
  override name = "ChaosError";
}
