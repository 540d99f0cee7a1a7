/** Pagination as async iterators through the normal request path: `per_page` 200 until `has_more_page` is false. */
import { MAX_PER_PAGE } from '../zoho/index.js';

export interface Page<T> {
  page: number;
  items: T[];
  hasMore: boolean;
}

export type PageFetcher<T> = (page: number, perPage: number) => Promise<Page<T>>;

/** Iterate items (`for await (const c of list)`), or whole pages with `.pages()`. */
export class PageIterator<T> implements AsyncIterable<T> {
  constructor(private readonly fetchPage: PageFetcher<T>, private readonly perPage = MAX_PER_PAGE, private readonly firstPage = 1) {}

  async *pages(): AsyncGenerator<Page<T>> {
    for (let page = this.firstPage; ; page++) {
      const result = await this.fetchPage(page, this.perPage);
      yield result;
      if (!result.hasMore) return;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.pages()) yield* page.items;
  }

  async toArray(): Promise<T[]> {
    const all: T[] = [];
    for await (const item of this) all.push(item);
    return all;
  }
}

export interface ListBody {
  page_context?: { has_more_page?: boolean; page?: number };
}

export function hasMorePages(body: ListBody): boolean {
  return body.page_context?.has_more_page === true;
}
