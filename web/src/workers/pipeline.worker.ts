// The pipeline's Web Worker: the sdk's browser entry (encryption, erasure coding and hashing of
// one stripe per task), bundled by Next as a module worker.
import "@coop-cloud/sdk/pipeline/workers/web.ts";
