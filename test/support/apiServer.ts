export { startTestApiServer } from "@kubelab/testkit";
