/**
 * Cross-origin isolation on a host that sends no COOP/COEP headers (GitHub Pages, most static hosts).
 *
 * A page gets SharedArrayBuffer, and so the engine's shared memory and a second thread, only when it is
 * cross-origin isolated, which takes two response headers (Cross-Origin-Opener-Policy: same-origin,
 * Cross-Origin-Embedder-Policy: require-corp). `npm run playground` sends them; a static host does not.
 * The site ships coi-serviceworker's service worker next to the page (its build says where, in a
 * `<meta name="tapegrad:service-worker">`): a service worker sits between the page and the network and
 * can add the two headers to every response, the navigation's included. It controls a page only from
 * the page's next load, so the first visit registers it and reloads once; from then on the page is
 * isolated. Where it cannot help (no service workers, not a secure context, a browser that ignores the
 * headers it adds) the page runs without isolation and says why. One reload per tab at most: a page
 * that is still not isolated after it does not try again.
 *
 * (coi-serviceworker's own page script does the same, but reloads while this page has already started
 * fetching MNIST and the worker; deciding first costs nothing and fetches everything once.)
 */

/** What the page can say about its isolation. */
export interface Isolation {
  isolated: boolean;
  /** How it is isolated, or why not, in words for the page's mode line. */
  why: string;
}

const RELOADED = 'tapegrad:isolation-reload';
/** Longest wait for the service worker to be ready before the page goes on without it. */
const READY_MS = 10_000;

function tried(): boolean {
  try {
    return sessionStorage.getItem(RELOADED) !== null;
  } catch {
    return true; // no storage (a sandboxed frame): never risk a reload loop
  }
}

/**
 * Isolates the page if it can. Resolves to what to say about isolation, or to null when the page is
 * about to reload under the service worker (the caller then starts nothing).
 */
export async function isolate(): Promise<Isolation | null> {
  const worker = document.querySelector<HTMLMetaElement>('meta[name="tapegrad:service-worker"]')?.content ?? null;
  if (crossOriginIsolated) {
    try {
      sessionStorage.removeItem(RELOADED);
    } catch {
      // nothing to forget
    }
    const byWorker = worker !== null && navigator.serviceWorker?.controller != null;
    return { isolated: true, why: byWorker ? "COOP/COEP added by this site's service worker" : 'COOP/COEP sent by the server' };
  }
  if (worker === null) return { isolated: false, why: 'the server sends no COOP/COEP headers' };
  if (!isSecureContext) return { isolated: false, why: 'a service worker could add COOP/COEP, but only on https:// or localhost' };
  if (!('serviceWorker' in navigator)) return { isolated: false, why: 'this browser offers no service workers here to add COOP/COEP' };
  if (tried()) return { isolated: false, why: "this site's service worker ran, but the browser did not isolate the page" };
  try {
    await navigator.serviceWorker.register(worker);
    // `ready` waits for a worker whose scope holds this page; a page outside it (an address without the
    // folder's last '/') would wait for ever, so it gets a few seconds.
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), READY_MS));
    if ((await Promise.race([navigator.serviceWorker.ready, timeout])) === 'timeout') {
      return { isolated: false, why: `the service worker that adds COOP/COEP did not take this page within ${READY_MS / 1000} s` };
    }
    sessionStorage.setItem(RELOADED, '1');
  } catch (e) {
    return { isolated: false, why: `the service worker that adds COOP/COEP could not start (${(e as Error).message})` };
  }
  location.reload();
  return null;
}

/**
 * The page's mode line: which kernels train, on how many threads, and why. `backend` and `threads` are
 * what the training worker's engine reports; `reason` is why the WebAssembly backend was refused, if it was.
 */
export function modeLine(backend: string, threads: number, isolation: Isolation, reason: string | null): string {
  const isolated = isolation.isolated ? `cross-origin isolated (${isolation.why})` : `not cross-origin isolated: ${isolation.why}`;
  if (backend === 'wasm') {
    const n = `${threads} thread${threads === 1 ? '' : 's'}`;
    return isolation.isolated
      ? `WebAssembly SIMD on ${n}, ${isolated}.`
      : `WebAssembly SIMD on one thread, ${isolated}; a second thread needs shared memory.`;
  }
  return `JavaScript fallback (the engine's TypeScript kernels, one thread): ${reason ?? 'the WebAssembly backend cannot run here'}; ${isolated}.`;
}
