import { InvalidObjectError, qualifiedKind, type FieldError, type KindDefinition, type KubeObject } from "@kubelab/api";
import type { Allocator } from "./serviceAllocator.js";

/**
 * An object's unique claims (a Service's ClusterIP and NodePorts) across the attempts of one
 * write, create and update alike: what the client left out is picked, avoiding what earlier
 * attempts lost; what it asked for by value is checked. After a write that lost on claims, a
 * claim the client asked for by value is the client's error, and picked ones are picked again.
 */
export class ClaimAttempts {
  private readonly avoid = new Set<string>();
  private asked: ReadonlySet<string> = new Set();

  constructor(
    private readonly def: KindDefinition,
    private readonly alloc: Allocator,
  ) {}

  /** Picks and checks `obj`'s claims, keeping what `old` held; throws the field errors. */
  assign(obj: KubeObject, old?: KubeObject): void {
    this.asked = new Set(this.alloc.claims(obj));
    this.throwIfAny(obj, this.alloc.assign(obj, old, this.avoid));
  }

  /** What `obj`'s write takes and gives back, beside what `old` held. */
  changes(obj: KubeObject, old?: KubeObject): { take: string[]; release: string[] } {
    const held = new Set(old ? this.alloc.claims(old) : []);
    const wanted = new Set(this.alloc.claims(obj));
    return { take: [...wanted].filter((c) => !held.has(c)), release: [...held].filter((c) => !wanted.has(c)) };
  }

  /**
   * The write of `obj` lost because another object holds `taken`. When `decisive` (the attempt
   * started from etcd's current state, not a cached copy), a claim the client asked for is its
   * error, thrown; the rest are avoided at the next attempt.
   */
  lost(obj: KubeObject, taken: readonly string[], decisive: boolean): void {
    const theirs = taken.filter((c) => this.asked.has(c));
    if (theirs.length && decisive)
      this.throwIfAny(
        obj,
        theirs.map((c) => this.alloc.takenError(c, obj)).filter((e): e is FieldError => e !== undefined),
      );
    for (const c of taken) this.avoid.add(c);
  }

  private throwIfAny(obj: KubeObject, errs: FieldError[]): void {
    if (errs.length) throw new InvalidObjectError(qualifiedKind(this.def), obj.metadata?.name || obj.metadata?.generateName || "", errs);
  }
}
