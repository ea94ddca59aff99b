// The operator dashboard: this node's status, its peers, its recent sessions and settlement.
'use strict';

(() => {
  const { el, fill, getJson, getText, errorText, poll, str, short, isoMinute, ago, money, cosignatureTimes, witnessName, stamp } = K;

  /** Newest cosignature time per log id, refreshed when the witnessed size changes. */
  const witnessedAt = new Map();

  async function witnessTime(log) {
    if (!(log.witnessed_size > 0)) return null;
    const known = witnessedAt.get(log.id);
    if (known && known.size === log.witnessed_size) return known.time_ms;
    const answer = await getText(`/v1/logs/${encodeURIComponent(str(log.id))}/witnessed`);
    if (answer.status !== 200) return null;
    const times = cosignatureTimes(answer.body).map((c) => c.time_ms);
    const time_ms = times.length ? Math.max(...times) : null;
    witnessedAt.set(log.id, { size: log.witnessed_size, time_ms });
    return time_ms;
  }

  function stat(label, value, sub, attrs) {
    return el('div', Object.assign({ class: 'stat' }, attrs || {}),
      el('div', { class: 'label' }, label),
      el('div', { class: 'value' }, value),
      sub ? el('div', { class: 'sub' }, sub) : null);
  }

  function logState(log) {
    if (log.split_view) return el('span', { class: 'badge bad' }, 'split view');
    if (log.mirror_error) return el('span', { class: 'badge warn', title: str(log.mirror_error) }, 'mirror stuck');
    if (log.witnessed_size > 0 && log.witnessed_size === log.checkpoint_size) return el('span', { class: 'badge good' }, 'witnessed');
    if (log.witnessed_size > 0) return el('span', { class: 'badge info' }, 'witnessing');
    return el('span', { class: 'badge' }, 'not witnessed');
  }

  async function renderStatus() {
    const answer = await getJson('/v1/status');
    if (answer.status !== 200 || !answer.body) {
      const box = fill('load-error', `Could not read /v1/status: ${errorText(answer)}`);
      box.hidden = false;
      return;
    }
    document.getElementById('load-error').hidden = true;
    const s = answer.body;
    const own = s.log || {};
    fill('nav-operator', str(own.operator));
    fill('identity', 'Node of ', el('strong', {}, str(own.operator)), ' · log ', el('code', {}, str(own.origin)),
      ' · network ', el('code', {}, short(s.network, 8)));

    const logs = Array.isArray(s.logs) ? s.logs : [];
    const peers = Array.isArray(s.peers) ? s.peers : [];
    const alerts = Array.isArray(s.alerts) ? s.alerts : [];

    // Split views first and loud: a log that signed two histories is convicted.
    const stuck = logs.filter((l) => l.mirror_error);
    if (alerts.length || stuck.length) {
      fill('alerts',
        alerts.length ? [
          el('h2', {}, `Split view detected (${alerts.length})`),
          el('p', {}, 'A log signed two checkpoints that cannot both be true. The evidence convicts it for every member; its entries can no longer be trusted.'),
          el('ul', {}, alerts.map((a) => el('li', { 'data-alert': 'split-view' }, str(a)))),
        ] : null,
        stuck.length ? [
          el(alerts.length ? 'h3' : 'h2', {}, `Mirroring stuck (${stuck.length})`),
          el('ul', {}, stuck.map((l) => el('li', { 'data-alert': 'mirror' }, `${str(l.id)} (${str(l.operator)}): ${str(l.mirror_error)}`))),
        ] : null);
      document.getElementById('alerts').hidden = false;
    } else {
      document.getElementById('alerts').hidden = true;
    }
    document.getElementById('all-clear').hidden = alerts.length > 0 || logs.length === 0;

    const ownStatus = logs.find((l) => l.kind === 'own') || {};
    const connected = peers.filter((p) => p.connected).length;
    fill('stats',
      stat('Own log size', str(s.size), `checkpoint ${str(s.checkpoint_size)}`, { id: 'stat-size', 'data-size': s.size }),
      stat('Own log witnessed', `${str(ownStatus.witnessed_size ?? 0)}`, (ownStatus.cosigners || []).length ? `cosigned by ${(ownStatus.cosigners || []).map(witnessName).join(', ')}` : 'no cosignatures yet', { id: 'stat-witnessed' }),
      stat('Mirrored logs', str(logs.filter((l) => l.kind === 'mirror').length), 'of other members'),
      stat('Peers connected', peers.length ? `${connected} / ${peers.length}` : '—', peers.length ? `${peers.filter((p) => p.subscribed).length} on the witness topic` : 'no network'));

    const times = await Promise.all(logs.map((l) => witnessTime(l).catch(() => null)));
    fill('logs-count', `${logs.length}`);
    const logRows = logs.map((l, i) => el('tr', { 'data-log': l.id, 'data-kind': l.kind, 'data-size': l.size, 'data-witnessed-size': l.witnessed_size },
      el('td', {}, el('strong', {}, str(l.id)), ' ', el('span', { class: `badge ${l.kind === 'own' ? 'info' : ''}` }, l.kind === 'own' ? 'own' : 'mirror'),
        el('div', { class: 'muted small mono nowrap' }, str(l.origin))),
      el('td', {}, str(l.operator)),
      el('td', { class: 'num', 'data-field': 'size' }, str(l.size)),
      el('td', { class: 'num' }, str(l.checkpoint_size)),
      el('td', { class: 'num', 'data-field': 'witnessed' }, str(l.witnessed_size)),
      el('td', { class: 'nowrap' }, times[i] ? el('span', { title: new Date(times[i]).toISOString() }, ago(times[i])) : el('span', { class: 'muted' }, '—')),
      el('td', {}, (l.cosigners || []).length ? (l.cosigners || []).map((c, j) => [j ? ', ' : '', el('span', { class: 'mono small', title: str(c) }, witnessName(c))]) : el('span', { class: 'muted' }, 'none')),
      el('td', {}, logState(l))));
    document.querySelector('#logs tbody').replaceChildren(...logRows);

    fill('peers-count', peers.length ? `${connected} of ${peers.length} connected` : '');
    document.getElementById('peers-empty').hidden = peers.length > 0;
    document.getElementById('peers').hidden = peers.length === 0;
    const peerRows = peers.map((p) => el('tr', { 'data-peer': p.operator, 'data-connected': String(!!p.connected) },
      el('td', {}, el('strong', {}, str(p.operator))),
      el('td', { class: 'mono small', title: str(p.peer_id) }, short(p.peer_id, 10)),
      el('td', { class: 'nowrap' }, el('span', { class: `dot ${p.connected ? 'good' : 'bad'}` }), p.connected ? 'connected' : 'disconnected'),
      el('td', {}, p.subscribed ? el('span', { class: 'badge good' }, 'subscribed') : el('span', { class: 'badge' }, 'not subscribed')),
      el('td', { class: 'num' }, typeof p.rtt_ms === 'number' ? (p.rtt_ms < 1 ? '< 1 ms' : `${p.rtt_ms} ms`) : '—'),
      el('td', { class: p.last_error ? 'small' : 'muted' }, p.last_error ? str(p.last_error) : 'none')));
    document.querySelector('#peers tbody').replaceChildren(...peerRows);
  }

  async function renderSessions() {
    const answer = await getJson('/v1/sessions/recent?limit=20');
    const body = document.querySelector('#sessions tbody');
    if (answer.status !== 200 || !answer.body) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: 8, class: 'error' }, `Could not read recent sessions: ${errorText(answer)}`)));
      return;
    }
    const sessions = Array.isArray(answer.body.sessions) ? answer.body.sessions : [];
    fill('sessions-count', sessions.length ? `newest ${sessions.length}` : '');
    document.getElementById('sessions-empty').hidden = sessions.length > 0;
    document.getElementById('sessions').hidden = sessions.length === 0;
    body.replaceChildren(...sessions.map((r) => el('tr', { 'data-session': r.session, 'data-index': r.index },
      el('td', { class: 'num' }, str(r.index)),
      el('td', { class: 'mono', title: str(r.session) }, short(r.session, 10)),
      el('td', { class: 'mono', title: str(r.key_id) }, short(r.key_id, 8)),
      el('td', { class: 'nowrap' }, isoMinute(r.start_ms)),
      el('td', { class: 'nowrap' }, isoMinute(r.stop_ms)),
      el('td', { class: 'num', 'data-field': 'energy' }, typeof r.energy_wh === 'number' ? `${(r.energy_wh / 1000).toLocaleString('en-US', { maximumFractionDigits: 3 })} kWh` : '—'),
      el('td', {}, typeof r.tariff_index === 'number' ? `entry ${r.tariff_index}` : el('span', { class: 'muted' }, 'not priced')),
      el('td', { class: 'mono small' }, r.commitment_prefix ? `${str(r.commitment_prefix)}…` : el('span', { class: 'muted' }, '—')))));
  }

  // A dispute may name thousands of sessions; the matrix cell shows the first few.
  const DISPUTE_ITEMS_SHOWN = 6;
  const STATUS_CLASS = { pending: 'warn', acknowledged: 'good', disputed: 'bad', answered: 'info' };

  function statementCell(st) {
    const dispute = st.dispute && Array.isArray(st.dispute.items) ? st.dispute : null;
    return el('div', { class: 'statement', 'data-cpo': st.cpo, 'data-emsp': st.emsp, 'data-status': st.status },
      el('div', { class: 'amount' }, money(st.total_incl_vat_minor, st.currency)),
      el('div', { class: 'muted small' }, `${money(st.total_excl_vat_minor, st.currency)} excl. VAT · ${counted(st.sessions, 'session')}`,
        st.credits ? ` · ${counted(st.credits, 'credit note')}` : ''),
      el('span', { class: `badge ${STATUS_CLASS[st.status] || ''}` }, str(st.status)),
      st.problem ? el('div', { class: 'error small', 'data-problem': '' }, `Not netted: ${str(st.problem)}`) : null,
      dispute ? el('ul', { class: 'disputes' }, dispute.items.slice(0, DISPUTE_ITEMS_SHOWN).map((item) => el('li', {},
        typeof item.session_index === 'number' ? `session entry ${item.session_index}: ` : '',
        str(item.reason).replace(/_/g, ' '))),
      dispute.items.length > DISPUTE_ITEMS_SHOWN ? el('li', { class: 'muted' }, `… and ${dispute.items.length - DISPUTE_ITEMS_SHOWN} more (GET /v1/settlement lists them all)`) : null,
      Array.isArray(dispute.parts) && dispute.parts.length > 1 ? el('li', { class: 'muted' }, `disputed in ${dispute.parts.length} entries`) : null,
      typeof dispute.answered === 'number' ? el('li', { class: 'muted' }, `answered at entry ${dispute.answered}: ${str(dispute.credited)} credited`) : null) : null);
  }

  function counted(n, what) {
    return `${str(n)} ${what}${n === 1 ? '' : 's'}`;
  }

  // A period as the statements name it; to the second when it is shorter than a day.
  function periodName(period) {
    const short = period.end_ms - period.start_ms < 86400000;
    const at = (ms) => (short && typeof ms === 'number' && isFinite(ms)
      ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + ' UTC'
      : isoMinute(ms));
    return `${at(period.start_ms)} – ${at(period.end_ms)}`;
  }

  function periodCard(period) {
    const statements = Array.isArray(period.statements) ? period.statements : [];
    const cpos = [...new Set(statements.map((s) => str(s.cpo)))].sort();
    const emsps = [...new Set(statements.map((s) => str(s.emsp)))].sort();
    const disputed = statements.filter((s) => s.status === 'disputed').length;
    const head = el('tr', {}, el('th', {}, 'CPO ↓ · eMSP →'), emsps.map((e) => el('th', {}, e)));
    const rows = cpos.map((c) => el('tr', {}, el('th', { class: 'row', scope: 'row' }, c), emsps.map((e) => {
      const here = statements.filter((s) => str(s.cpo) === c && str(s.emsp) === e);
      return here.length ? el('td', { class: 'cell' }, here.map(statementCell)) : el('td', { class: 'empty' }, '·');
    })));
    return el('div', { class: 'period', 'data-start': period.start_ms },
      el('h3', {}, `Period ${periodName(period)}`, ' ',
        disputed ? el('span', { class: 'badge bad' }, `${disputed} disputed`) : null),
      statements.length
        ? el('div', { class: 'table-scroll' }, el('table', { class: 'matrix' }, el('thead', {}, head), el('tbody', {}, rows)))
        : el('p', { class: 'muted' }, 'No statements in this period.'),
      periodNetting(period));
  }

  // The period's netting, every currency, from its closed statements (acknowledged or answered).
  function periodNetting(period) {
    if (period.netting_error) {
      return el('p', { class: 'error', 'data-netting-error': '' }, `This period cannot be netted: ${str(period.netting_error)}`);
    }
    const currencies = period.netting && Array.isArray(period.netting.currencies) ? period.netting.currencies : [];
    if (!currencies.length) {
      return el('p', { class: 'muted' }, 'Nothing to net yet: no statement of this period is acknowledged or answered.');
    }
    return currencies.map((c) => nettingCard({
      currency: c.currency,
      positions: Object.fromEntries((c.positions || []).map((p) => [p.party, p.net_minor])),
      transfers: c.transfers,
    }));
  }

  function nettingCard(netting) {
    const positions = Object.entries(netting.positions || {}).sort((a, b) => a[0].localeCompare(b[0]));
    const transfers = Array.isArray(netting.transfers) ? netting.transfers : [];
    return el('div', { class: 'netting' },
      el('h4', {}, `Net positions (${str(netting.currency)})`),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Party'), el('th', { class: 'num' }, 'Net position'))),
        el('tbody', {}, positions.map(([party, amount]) => el('tr', { 'data-party': party },
          el('td', {}, party), el('td', { class: 'num' }, money(amount, netting.currency)))))),
      el('h4', {}, 'Transfers'),
      transfers.length
        ? el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'From'), el('th', {}, 'To'), el('th', { class: 'num' }, 'Amount'))),
          el('tbody', {}, transfers.map((t) => el('tr', {}, el('td', {}, str(t.from)), el('td', {}, str(t.to)), el('td', { class: 'num' }, money(t.amount_minor, netting.currency))))))
        : el('p', { class: 'muted' }, 'No transfers: every position is zero.'));
  }

  async function renderSettlement() {
    const answer = await getJson('/v1/settlement');
    if (answer.status === 404) {
      fill('settlement', el('p', { class: 'notice', 'data-empty': 'settlement' }, 'No settlement period closed yet.'));
      return;
    }
    if (answer.status !== 200 || !answer.body) {
      fill('settlement', el('p', { class: 'error' }, `Could not read /v1/settlement: ${errorText(answer)}`));
      return;
    }
    const periods = Array.isArray(answer.body.periods) ? answer.body.periods : [];
    if (!periods.length) {
      fill('settlement', el('p', { class: 'notice', 'data-empty': 'settlement' }, 'No settlement period closed yet.'));
      return;
    }
    fill('settlement',
      el('p', { class: 'muted small' }, 'Statements per CPO and eMSP: totals including VAT, then excluding VAT and the number of sessions.'),
      periods.slice().reverse().map(periodCard));
  }

  poll(async () => {
    await Promise.all([
      renderStatus(),
      renderSessions().catch((e) => console.error(e)),
      renderSettlement().catch((e) => console.error(e)),
    ]);
    stamp('updated');
    document.body.dataset.state = 'ready';
  });
})();
