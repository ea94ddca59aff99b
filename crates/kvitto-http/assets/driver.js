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
    const save = file.fetched ? URL.createObjectURL(new Blob([bytes], { type: 'application/json' })) : null;
    return { name: file.name, summary, link: `/receipt#receipt=${base64url(bytes)}`, save };
  }

  async function show(files, note) {
    const items = await Promise.all([...files].map(describe));
    // Oldest first by start time; unreadable files last.
    items.sort((a, b) => Number(!!a.error) - Number(!!b.error)
      || str(a.summary && a.summary.start).localeCompare(str(b.summary && b.summary.start))
      || a.name.localeCompare(b.name));
    const good = items.filter((i) => !i.error);
    fill('list-title', `${good.length} receipt${good.length === 1 ? '' : 's'}`, items.length > good.length ? `, ${items.length - good.length} file(s) not readable` : '',
      note ? el('span', { class: 'muted small' }, ` · ${note}`) : null);
    document.querySelector('#receipts tbody').replaceChildren(...items.map((i) => i.error
      ? el('tr', { 'data-receipt': i.name, 'data-error': 'true' }, el('td', { class: 'mono small' }, i.name), el('td', { colspan: 6, class: 'error' }, i.error))
      : el('tr', { 'data-receipt': i.name },
        el('td', { class: 'mono small' }, i.name),
        el('td', {}, str(i.summary.evse_id), el('div', { class: 'muted small' }, str(i.summary.operator))),
        el('td', { class: 'nowrap', title: str(i.summary.start) }, when(i.summary.start)),
        el('td', { class: 'nowrap', title: str(i.summary.stop) }, when(i.summary.stop)),
        el('td', { class: 'num' }, `${str(i.summary.energy_kwh)} kWh`),
        el('td', { class: 'num' }, i.summary.total_incl_vat ? `${str(i.summary.total_incl_vat)} ${str(i.summary.currency)}` : el('span', { class: 'muted' }, 'not priced')),
        el('td', { class: 'nowrap' }, el('a', { href: i.link, target: '_blank', rel: 'noopener' }, 'check'),
          i.save ? [' · ', el('a', { href: i.save, download: i.name }, 'save')] : null))));
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

  /** The 32-byte secret from a secret file's text: its hex digits, comment lines skipped. */
  function parseSecret(text) {
    const digits = str(text).split('\n').filter((line) => !line.trim().startsWith('#')).join('').replace(/\s+/g, '');
    if (!/^[0-9a-fA-F]{64}$/.test(digits)) throw new Error('a driver secret is 64 hex digits');
    return KC.unhex(digits);
  }

  function fetchFailed(message) {
    const box = fill('fetch-error', message);
    box.hidden = false;
    fill('fetch-status');
    document.body.dataset.state = 'fetch-failed';
  }

  /** Proves possession of the secret over a fresh challenge of this node and lists the receipts. */
  async function fetchReceipts(secretText) {
    document.getElementById('fetch-error').hidden = true;
    let keys;
    try {
      keys = KC.driverKeys(parseSecret(secretText));
    } catch (e) {
      fetchFailed(`That is not a driver secret: ${e.message}.`);
      return;
    }
    fill('fetch-status', 'Asking this node for a challenge…');
    const challenge = await K.getJson('/v1/receipts/challenge');
    if (challenge.status !== 200 || !challenge.body || typeof challenge.body.challenge !== 'string') {
      fetchFailed(`This node gave no challenge: ${K.errorText(challenge)}`);
      return;
    }
    fill('fetch-status', 'Proving possession of your secret in this browser…');
    const binding = KC.fetchBinding(str(challenge.body.origin), KC.unhex(challenge.body.challenge));
    const proof = KC.provePossession(keys, binding);
    const response = await fetch('/v1/receipts', {
      method: 'POST',
      credentials: 'omit',
      cache: 'no-store',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ driver: KC.hex(keys.pseudonym), challenge: challenge.body.challenge, proof: KC.hex(proof) }),
    });
    let answer = null;
    try { answer = await response.json(); } catch (_) { answer = null; }
    if (response.status === 404) {
      fetchFailed('This node holds no sessions for your secret. If you charged with another operator, fetch your receipts from its node.');
      return;
    }
    if (response.status !== 200 || !answer || !Array.isArray(answer.receipts)) {
      fetchFailed(`The node refused: ${K.errorText({ status: response.status, body: answer })}`);
      return;
    }
    const files = answer.receipts.map((r, n) => {
      const index = r && r.session && typeof r.session.index === 'number' ? r.session.index : n;
      const file = new File([JSON.stringify(r, null, 2)], `receipt-${index}.json`, { type: 'application/json' });
      file.fetched = true;
      return file;
    });
    const notes = [`fetched from ${str(challenge.body.origin)}`];
    if (answer.pending > 0) notes.push(`${answer.pending} newer session(s) not yet in a checkpoint: fetch again shortly`);
    if (answer.omitted > 0) notes.push(`${answer.omitted} older session(s) omitted`);
    fill('fetch-status', `Fetched ${files.length} receipt${files.length === 1 ? '' : 's'}.`);
    if (files.length) {
      await show(files, notes.join(' · '));
    } else {
      fill('fetch-status', `No receipts yet. ${notes.slice(1).join(' · ')}`);
      document.body.dataset.state = 'listed';
    }
  }

  async function secretFromInputs() {
    const file = document.getElementById('secret-file').files[0];
    const typed = document.getElementById('secret-text').value;
    return typed.trim() ? typed : (file ? file.text() : '');
  }

  document.getElementById('fetch').addEventListener('click', async () => {
    fetchReceipts(await secretFromInputs()).catch((e) => fetchFailed(`Fetching failed: ${e.message}`));
  });
  document.getElementById('secret-file').addEventListener('change', async () => {
    document.getElementById('secret-text').value = '';
    fetchReceipts(await secretFromInputs()).catch((e) => fetchFailed(`Fetching failed: ${e.message}`));
  });

  /** Receipts given in the address as `#receipt=<base64url>&receipt=…`, as the checker takes one. */
  function fromFragment() {
    const params = new URLSearchParams(window.location.hash.slice(1));
    // A secret in the address (for scripted use) is taken out of it and the history at once.
    const secret = params.get('secret');
    if (secret !== null) {
      window.history.replaceState(null, '', window.location.pathname);
      fetchReceipts(secret).catch((e) => fetchFailed(`Fetching failed: ${e.message}`));
      return;
    }
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
