/** A tiny DOM builder: `h('button', { onclick }, 'Admit')`. Text children are never parsed as HTML. */
type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  element.append(
    ...children
      .filter((child): child is Node | string | number => child !== null && child !== undefined && child !== false)
      .map((child) => (typeof child === 'number' ? String(child) : child)),
  );
  return element;
}

/** Replaces the page's content with one screen: `<main data-screen="name">`. */
export function showScreen(name: string, ...children: Child[]): HTMLElement {
  const screen = h('main', { 'data-screen': name }, ...children);
  document.getElementById('app')!.replaceChildren(screen);
  document.title = `${screen.querySelector('h1')?.textContent ?? 'Meeting rooms'} · Meeting rooms`;
  return screen;
}

/** A form control that `field`, `formValues` and `onSubmit` know. */
type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
const isControl = (element: unknown): element is Control =>
  element instanceof HTMLInputElement || element instanceof HTMLSelectElement || element instanceof HTMLTextAreaElement;

/** A labelled form field. */
export function field(label: string, input: Control): HTMLLabelElement {
  return h('label', { class: input.type === 'checkbox' ? 'check' : 'field' }, ...(input.type === 'checkbox' ? [input, label] : [label, input]));
}

/** The values of a form's named fields (checkboxes as booleans). */
export function formValues(form: HTMLFormElement): Record<string, string | boolean> {
  const values: Record<string, string | boolean> = {};
  for (const element of Array.from(form.elements)) {
    if (!isControl(element) || !element.name) continue;
    values[element.name] = element instanceof HTMLInputElement && element.type === 'checkbox' ? element.checked : element.value;
  }
  return values;
}

/** What people call a field the API names by its path (`scheduled_start_at` → `Start`), for error messages. */
export type FieldLabels = Record<string, string>;

/**
 * Runs a form's submit handler with its button disabled, and shows a failure inside the form: the
 * fields the server named are marked invalid, described by the message, and the first one focused.
 */
export function onSubmit(
  form: HTMLFormElement,
  handler: (values: Record<string, string | boolean>) => Promise<void>,
  labels: FieldLabels = {},
): HTMLFormElement {
  // One alert at a time per form: its id only has to differ from other forms'.
  const alertId = `${form.dataset.form ?? 'form'}-alert`;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    form.querySelector('[role=alert]')?.remove();
    for (const invalid of Array.from(form.querySelectorAll('[aria-invalid]'))) {
      invalid.removeAttribute('aria-invalid');
      describedBy(invalid, (ids) => ids.filter((id) => id !== alertId));
    }
    try {
      await handler(formValues(form));
    } catch (error) {
      const box = errorBox(error, labels);
      box.id = alertId;
      form.append(box);
      const named = (error as { errors?: { path: string }[] }).errors?.map((f) => form.elements.namedItem(f.path)) ?? [];
      const inputs = named.filter(isControl);
      for (const input of inputs) {
        input.setAttribute('aria-invalid', 'true');
        describedBy(input, (ids) => [...ids, box.id]);
      }
      inputs[0]?.focus();
    } finally {
      if (button) button.disabled = false;
    }
  });
  return form;
}

/** Changes the ids in an element's `aria-describedby` (a field keeps its own hint beside an error). */
function describedBy(element: Element, change: (ids: string[]) => string[]): void {
  const ids = change((element.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
  if (ids.length) element.setAttribute('aria-describedby', ids.join(' '));
  else element.removeAttribute('aria-describedby');
}

/**
 * An error as people read it, with its stable code for support (and tests). `labels` names the
 * API's fields as the form does: `scheduled_start_at must be in the future` reads `Start must be
 * in the future`; a field's own line is left out when the message already says just that.
 */
export function errorBox(error: unknown, labels: FieldLabels = {}): HTMLElement {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : 'INTERNAL';
  const fields = (error as { errors?: { path: string; message: string }[] }).errors ?? [];
  const message = error instanceof Error ? error.message : String(error);
  const reword = (text: string) =>
    text.replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (path: string, at: number) => {
      const label = labels[path];
      return label === undefined ? path : at === 0 ? label : `the ${label.toLowerCase()}`;
    });
  return h(
    'p',
    { role: 'alert', class: 'error', 'data-code': code },
    reword(message),
    ...fields
      .filter((f) => `${f.path} ${f.message}` !== message)
      .map((f) => h('span', { class: 'field-error', 'data-path': f.path }, `${labels[f.path] ?? f.path}: ${reword(f.message)}`)),
  );
}

/** A short notice at the bottom of the page for three seconds ("Link copied"). */
export function toast(text: string): void {
  const notice = h('p', { class: 'toast', role: 'status' }, text);
  document.getElementById('app')!.append(notice);
  setTimeout(() => notice.remove(), 3000);
}
