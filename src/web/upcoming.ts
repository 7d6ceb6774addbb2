import type { MeetingClient } from '../client';
import { errorBox, h, toast } from './dom';
import { formatSchedule } from './format';

type UpcomingItem = Awaited<ReturnType<MeetingClient['meetings']['upcoming']>>['items'][number];

/** The Upcoming list of the home screen, and a way to reload it (after scheduling one). */
export interface UpcomingSection {
  element: HTMLElement;
  /** Loads the first page again; `highlight` marks that room's item (the one just scheduled) and focuses its first button. */
  reload(highlight?: string): Promise<void>;
}

/** The caller's scheduled meetings, soonest first, a page at a time: Join for everyone, Copy link for the host. */
export function upcomingSection(client: MeetingClient): UpcomingSection {
  const list = h('ol', { class: 'upcoming', 'aria-labelledby': 'upcoming-title' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const element = h('section', { 'data-section': 'upcoming', class: 'card wide' }, h('h2', { id: 'upcoming-title' }, 'Upcoming'), list, more);
  let cursor: string | undefined;

  const load = async (reset: boolean, highlight?: string) => {
    if (reset) cursor = undefined;
    more.disabled = true;
    element.querySelector('[role=alert]')?.remove();
    try {
      const page = await client.meetings.upcoming({ limit: 10, cursor });
      if (reset) list.replaceChildren();
      list.append(...page.items.map((item) => upcomingItem(item, item.room_code === highlight)));
      if (highlight) list.querySelector<HTMLElement>('li.new button')?.focus();
      if (reset && page.items.length === 0) list.append(h('li', { class: 'empty' }, 'Nothing scheduled. Meetings you schedule, or are invited to, show here.'));
      cursor = page.next_cursor ?? undefined;
      more.hidden = !page.next_cursor;
    } catch (error) {
      element.append(errorBox(error));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load(false));
  void load(true);
  return { element, reload: (highlight) => load(true, highlight) };
}

function upcomingItem(item: UpcomingItem, highlighted: boolean): HTMLElement {
  const when = formatSchedule(item.scheduled_start_at, item.scheduled_end_at);
  const nameId = `upcoming-${item.room_code}`;
  const host = item.role === 'host';
  const link = h('span', { class: 'share-link' }, item.join_url);
  return h(
    'li',
    { 'data-upcoming-item': true, 'data-room-code': item.room_code, 'data-role': item.role, class: highlighted ? 'new' : '' },
    h('time', { class: 'when', datetime: item.scheduled_start_at }, h('strong', { 'data-day': true }, when.day), h('span', { 'data-time': true }, when.time)),
    h('span', { class: 'what' }, h('strong', { id: nameId }, item.name), host ? link : null),
    h(
      'span',
      { class: 'badges' },
      h('span', { class: 'badge' }, host ? 'You host' : 'Invited'),
      item.status === 'active' ? h('span', { class: 'badge speaking' }, 'Started') : null,
    ),
    h(
      'span',
      { class: 'actions' },
      // The room's page on this origin (join_url's host is PUBLIC_BASE_URL's): the usual pre-join flow.
      h('a', { class: 'button primary', href: new URL(item.join_url).pathname, 'aria-describedby': nameId }, 'Join'),
      host ? h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => void copyLink(item.join_url, link) }, 'Copy link') : null,
    ),
  );
}

/** Copies the share link; where the browser refuses, selects its text for Ctrl+C. */
async function copyLink(url: string, text: HTMLElement): Promise<void> {
  try {
    if (!navigator.clipboard) throw new Error('no clipboard here');
    await navigator.clipboard.writeText(url);
    toast('Link copied');
  } catch {
    getSelection()?.selectAllChildren(text);
    toast('Press Ctrl+C (⌘C) to copy the selected link');
  }
}
