// Shared helpers of kvitto's pages. Every value from the network becomes a text node: nothing
// is ever parsed as HTML, so hostile strings stay text.
'use strict';

const K = (() => {
  const POLL_MS = 5000;

  /** An element with attributes and children; strings and numbers become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') node.className = value;
      else node.setAttribute(name, String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  /** Replaces the children of the element with id `id`. */
  function fill(id, ...children) {
    const node = document.getElementById(id);
    node.replaceChildren();
    append(node, children);
    return node;
  }

  /** GET `path` as JSON: `{status, body}`, `body` null if the answer is not JSON. */
  async function getJson(path) {
    const response = await fetch(path, { cache: 'no-store', credentials: 'omit' });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { status: response.status, body };
  }

  async function getText(path) {
    const response = await fetch(path, { cache: 'no-store', credentials: 'omit' });
    return { status: response.status, body: await response.text() };
  }

  /** The sentence of an API error answer, or a fallback. */
  function errorText(answer) {
    const e = answer && answer.body && answer.body.error;
    if (e && typeof e.message === 'string') return `${e.message} (${e.code})`;
    return `HTTP ${answer ? answer.status : '?'}`;
  }

  /** Runs `step` now and every POLL_MS after it settles. */
  function poll(step) {
    const run = async () => {
      try { await step(); } catch (e) { console.error(e); }
      setTimeout(run, POLL_MS);
    };
    run();
  }

  function str(value) { return typeof value === 'string' ? value : (value === null || value === undefined ? '' : String(value)); }

  /** Shortens long identifiers: first and last characters. */
  function short(value, keep = 8) {
    const s = str(value);
    return s.length > keep * 2 + 1 ? `${s.slice(0, keep)}…${s.slice(-4)}` : s;
  }

  function isoMinute(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '—';
    return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }

  function ago(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '—';
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 90) return `${s} s ago`;
    if (s < 5400) return `${Math.round(s / 60)} min ago`;
    if (s < 172800) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} days ago`;
  }

  /** Digits after the decimal point of an ISO 4217 currency (those with other than 2). */
  const MINOR_DIGITS = { JPY: 0, KRW: 0, ISK: 0, CLP: 0, BHD: 3, KWD: 3, JOD: 3, OMR: 3, TND: 3 };

  /** An amount in minor units as major units with the currency: 1234, EUR -> "12.34 EUR". */
  function money(minor, currency) {
    if (typeof minor !== 'number' || !Number.isInteger(minor)) return '—';
    const cur = str(currency);
    const digits = Object.prototype.hasOwnProperty.call(MINOR_DIGITS, cur) ? MINOR_DIGITS[cur] : 2;
    const negative = minor < 0;
    const text = String(Math.abs(minor)).padStart(digits + 1, '0');
    const whole = (digits ? text.slice(0, -digits) : text).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const fraction = digits ? `.${text.slice(-digits)}` : '';
    return `${negative ? '−' : ''}${whole}${fraction} ${cur}`.trim();
  }

  /**
   * The cosignatures of a C2SP signed note with their times: `[{name, time_ms}]`. A
   * cosignature/v1 signature is key id (4) ‖ timestamp (8, seconds, big-endian) ‖ Ed25519 (64);
   * the log's own signature (68 bytes) has no time and is skipped.
   */
  function cosignatureTimes(note) {
    const out = [];
    const at = note.indexOf('\n\n');
    if (at < 0) return out;
    for (const line of note.slice(at + 2).split('\n')) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) continue;
      let bytes;
      try { bytes = Uint8Array.from(atob(m[2]), (c) => c.charCodeAt(0)); } catch (_) { continue; }
      if (bytes.length !== 76) continue;
      let seconds = 0;
      for (let i = 4; i < 12; i++) seconds = seconds * 256 + bytes[i];
      out.push({ name: m[1], time_ms: seconds * 1000 });
    }
    return out;
  }

  /** A witness key name without the `kvitto/<network>/` prefix every member's shares. */
  function witnessName(name) {
    const parts = str(name).split('/');
    return parts.length > 2 && parts[0] === 'kvitto' ? parts.slice(2).join('/') : str(name);
  }

  function stamp(id) {
    const node = document.getElementById(id);
    if (node) node.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  return { el, fill, append, getJson, getText, errorText, poll, str, short, isoMinute, ago, money, cosignatureTimes, witnessName, stamp };
})();
