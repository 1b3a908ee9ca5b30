import { expect } from "vitest";
import { ApiError } from "@kubelab/client";

/** The ApiError a call fails with; the test fails if it does not fail. */
export async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error("expected the call to fail");
}
