// The driver's page: lists receipt files the driver drops, each linked to the receipt checker.
// It reads files locally and sends nothing.
'use strict';

(() => {
  const { el, fill, str } = K;
  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

  /** base64url of the bytes, for the checker's `#receipt=` fragment. */
  function base64url(bytes) {
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  /** An RFC 3339 time as `YYYY-MM-DD HH:MM UTC`, or the text as given if it is not one. */
  function when(text) {
    const ms = Date.parse(str(text));
    return isNaN(ms) ? str(text) : K.isoMinute(ms);
  }

  async function describe(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let receipt = null;
    try { receipt = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)); } catch (_) { receipt = null; }
    const summary = isObject(receipt) && isObject(receipt.summary) ? receipt.summary : null;
    if (!summary || receipt.format !== 'kvitto-receipt/1') {
      return { name: file.name, error: summary ? `format ${JSON.stringify(str(receipt.format))} is not kvitto-receipt/1` : 'not a kvitto receipt (JSON with a summary)' };
    }
    return { name: file.name, summary, link: `/receipt#receipt=${base64url(bytes)}` };
  }

  async function show(files) {
    const items = await Promise.all([...files].map(describe));
    // Oldest first by start time; unreadable files last.
    items.sort((a, b) => Number(!!a.error) - Number(!!b.error)
      || str(a.summary && a.summary.start).localeCompare(str(b.summary && b.summary.start))
      || a.name.localeCompare(b.name));
    const good = items.filter((i) => !i.error);
    fill('list-title', `${good.length} receipt${good.length === 1 ? '' : 's'}`, items.length > good.length ? `, ${items.length - good.length} file(s) not readable` : '');
    document.querySelector('#receipts tbody').replaceChildren(...items.map((i) => i.error
      ? el('tr', { 'data-receipt': i.name, 'data-error': 'true' }, el('td', { class: 'mono small' }, i.name), el('td', { colspan: 6, class: 'error' }, i.error))
      : el('tr', { 'data-receipt': i.name },
        el('td', { class: 'mono small' }, i.name),
        el('td', {}, str(i.summary.evse_id), el('div', { class: 'muted small' }, str(i.summary.operator))),
        el('td', { class: 'nowrap', title: str(i.summary.start) }, when(i.summary.start)),
        el('td', { class: 'nowrap', title: str(i.summary.stop) }, when(i.summary.stop)),
        el('td', { class: 'num' }, `${str(i.summary.energy_kwh)} kWh`),
        el('td', { class: 'num' }, i.summary.total_incl_vat ? `${str(i.summary.total_incl_vat)} ${str(i.summary.currency)}` : el('span', { class: 'muted' }, 'not priced')),
        el('td', {}, el('a', { href: i.link, target: '_blank', rel: 'noopener' }, 'check')))));
    // Totals per currency, from the receipts' own decimal strings (summed in minor units).
    const totals = new Map();
    for (const i of good) {
      const m = /^(\d+)\.(\d+)$/.exec(str(i.summary.total_incl_vat));
      if (!m) continue;
      const key = `${str(i.summary.currency)}/${m[2].length}`;
      totals.set(key, (totals.get(key) || 0n) + BigInt(m[1] + m[2]));
    }
    document.querySelector('#receipts tfoot').replaceChildren(...[...totals].map(([key, minor]) => {
      const [currency, digits] = key.split('/');
      const text = minor.toString().padStart(Number(digits) + 1, '0');
      return el('tr', {}, el('th', { colspan: 5 }, 'Total'), el('th', { class: 'num' }, `${text.slice(0, -digits)}.${text.slice(-digits)} ${currency}`), el('th', {}));
    }));
    document.getElementById('list-box').hidden = false;
    document.body.dataset.state = 'listed';
  }

  /** Receipts given in the address as `#receipt=<base64url>&receipt=…`, as the checker takes one. */
  function fromFragment() {
    const params = new URLSearchParams(window.location.hash.slice(1));
    const files = params.getAll('receipt').map((text, n) => {
      try {
        const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
        return new File([Uint8Array.from(binary, (c) => c.charCodeAt(0))], `receipt ${n + 1} (from the address)`);
      } catch (_) {
        return new File([], `receipt ${n + 1} (from the address, not base64url)`);
      }
    });
    if (files.length) show(files);
  }

  fill('node-url', window.location.origin);
  const input = document.getElementById('files');
  input.addEventListener('change', () => input.files && input.files.length && show(input.files));
  const drop = document.getElementById('drop');
  document.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  document.addEventListener('dragleave', (e) => { if (e.relatedTarget === null) drop.classList.remove('over'); });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files.length) show(e.dataTransfer.files);
  });
  K.getJson('/v1/status').then((a) => { if (a.body && a.body.log) fill('nav-operator', str(a.body.log.operator)); }).catch(() => {});
  if (window.location.hash) fromFragment();
  else document.body.dataset.state = 'ready';
})();
