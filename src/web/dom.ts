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

/** A labelled form field. */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement): HTMLLabelElement {
  return h('label', { class: input.type === 'checkbox' ? 'check' : 'field' }, ...(input.type === 'checkbox' ? [input, label] : [label, input]));
}

/** The values of a form's named fields (checkboxes as booleans). */
export function formValues(form: HTMLFormElement): Record<string, string | boolean> {
  const values: Record<string, string | boolean> = {};
  for (const element of Array.from(form.elements)) {
    if (!(element instanceof HTMLInputElement) || !element.name) continue;
    values[element.name] = element.type === 'checkbox' ? element.checked : element.value;
  }
  return values;
}

/** Runs a form's submit handler with its button disabled, and shows a failure inside the form. */
export function onSubmit(form: HTMLFormElement, handler: (values: Record<string, string | boolean>) => Promise<void>): HTMLFormElement {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    form.querySelector('[role=alert]')?.remove();
    try {
      await handler(formValues(form));
    } catch (error) {
      form.append(errorBox(error));
    } finally {
      if (button) button.disabled = false;
    }
  });
  return form;
}

/** An error as people read it, with its stable code for support (and tests). */
export function errorBox(error: unknown): HTMLElement {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : 'INTERNAL';
  const fields = (error as { errors?: { path: string; message: string }[] }).errors ?? [];
  const message = error instanceof Error ? error.message : String(error);
  return h(
    'p',
    { role: 'alert', class: 'error', 'data-code': code },
    message,
    ...fields.map((f) => h('span', { class: 'field-error' }, `${f.path}: ${f.message}`)),
  );
}
