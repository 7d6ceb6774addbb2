import type { HistoryItemView, MeetingClient } from '../client';
import { errorBox, field, h, onSubmit, showScreen } from './dom';
import { formatDuration, formatTime } from './format';
import { scheduleForm } from './schedule';
import { upcomingSection } from './upcoming';

/** Signed in at `/`: start or schedule a meeting (accounts only), the upcoming ones, and past ones. */
export async function showHome(client: MeetingClient): Promise<void> {
  const user = client.session!.user;
  const create = user.is_guest
    ? h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Join a meeting'),
        h('p', {}, 'Guests can join meetings from a link. Ask the host for theirs, or create an account to host your own.'),
      )
    : onSubmit(
        h(
          'form',
          { 'data-form': 'create', class: 'card' },
          h('h2', {}, 'New meeting'),
          field('Meeting name', h('input', { name: 'name', type: 'text', required: true, maxlength: 120, placeholder: 'Weekly sync' })),
          field('Waiting room: I admit each guest', h('input', { name: 'lock_room', type: 'checkbox' })),
          h('button', { type: 'submit', class: 'primary' }, 'Create meeting'),
        ),
        async (values) => {
          const room = await client.meetings.create({ name: String(values.name), settings: { lock_room: values.lock_room === true } });
          location.assign(`/join/${encodeURIComponent(room.room_code)}`);
        },
      );
  if (user.is_guest) {
    showScreen('home', h('h1', {}, `Hello, ${user.display_name}`), h('div', { class: 'cards' }, create, historySection(client)));
    return;
  }
  const upcoming = upcomingSection(client);
  const schedule = scheduleForm(client, (room) => void upcoming.reload(room.room_code));
  showScreen(
    'home',
    h('h1', {}, `Hello, ${user.display_name}`),
    h('div', { class: 'cards' }, h('div', { class: 'pair' }, create, schedule), upcoming.element, historySection(client)),
  );
}

/** Past meetings, newest first, a page at a time (the API's cursor). */
function historySection(client: MeetingClient): HTMLElement {
  const list = h('ol', { class: 'history' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const role = h(
    'select',
    { name: 'role', 'aria-label': 'Which meetings' },
    h('option', { value: 'host' }, 'Hosted by me'),
    h('option', { value: 'participant' }, 'Attended as a guest'),
    h('option', { value: 'all' }, 'All'),
  );
  const section = h('section', { 'data-section': 'history', class: 'card wide' }, h('div', { class: 'row' }, h('h2', {}, 'Past meetings'), role), list, more);
  let cursor: string | undefined;

  const load = async (reset: boolean) => {
    if (reset) cursor = undefined;
    more.disabled = true;
    section.querySelector('[role=alert]')?.remove();
    try {
      const page = await client.meetings.history({ limit: 10, cursor, role: role.value as 'host' | 'participant' | 'all' });
      if (reset) list.replaceChildren();
      list.append(...page.items.map(historyItem));
      if (reset && page.items.length === 0) list.append(h('li', { class: 'empty' }, 'No ended meetings yet.'));
      cursor = page.next_cursor ?? undefined;
      more.hidden = !page.next_cursor;
    } catch (error) {
      section.append(errorBox(error));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load(false));
  role.addEventListener('change', () => void load(true));
  void load(true);
  return section;
}

function historyItem(item: HistoryItemView): HTMLElement {
  return h(
    'li',
    { 'data-history-item': true, 'data-room-code': item.room_code },
    h('strong', {}, item.name),
    h('span', { class: 'badge' }, item.role),
    h('span', {}, formatTime(item.ended_at)),
    h('span', {}, formatDuration(item.duration_seconds)),
    h('span', {}, item.participant_count === 1 ? '1 person' : `${item.participant_count} people`),
  );
}
