/**
 * What every view gets: the one app object (made once by main.ts and passed down, so no module
 * holds state of its own) and its own view context (what the view must undo when it is left).
 */
import type { Api } from './api.js';
import type { EventHandler, LiveEvents } from './events.js';
import type { Format } from './format.js';
import type { Banner } from './widgets/banner.js';
import type { EvidencePanel } from './widgets/evidence-panel.js';

export interface App {
  api: Api;
  events: LiveEvents;
  fmt: Format;
  banner: Banner;
  evidence: EvidencePanel;
  /** Rewrites the hash's query without showing the view again (filters stay shareable). */
  setHashQuery(params: Readonly<Record<string, string>>): void;
  /** The tab's title: `text · Sunset`. */
  setTitle(text: string): void;
}

/** One showing of a view: the router makes it, and disposes of it when the view is left. */
export interface View {
  /** False once the view is left: answers that arrive after that are ignored. */
  readonly alive: boolean;
  /** Where the view draws. */
  readonly main: HTMLElement;
  /** Runs fn when the view is left (listeners, timers). */
  cleanup(fn: () => void): void;
  /** Calls fn for every server-sent event while the view is shown. */
  onEvent(fn: EventHandler): void;
}

/** The path's parameters (decoded) and the hash's query. */
export interface RouteArgs {
  params: string[];
  query: URLSearchParams;
}

export type ViewFn = (app: App, view: View, args: RouteArgs) => Promise<void> | void;
