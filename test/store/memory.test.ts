import { openMemoryStore } from "../../src/store/memory/index.ts";
import { storeConformance } from "./conformance.ts";

storeConformance("memory", async () => {
  const store = openMemoryStore();
  return { store, cleanup: () => store.close() };
}, { shared: false });
