// The regulator's page: the latest audit report, rendered defensively (its shape may grow), and
// the live state of the logs this node follows.
'use strict';

(() => {
  const { el, fill, getJson, errorText, poll, str, stamp } = K;

  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const scalar = (v) => ['string', 'number', 'boolean'].includes(typeof v);
  const first = (obj, names) => {
    for (const name of names) if (isObject(obj) && obj[name] !== undefined && obj[name] !== null) return obj[name];
    return undefined;
  };
  const show = (v) => (v === undefined ? '' : (scalar(v) ? String(v) : JSON.stringify(v)));

  /** Whether the report says all is well: from `verdict`, `ok`/`passed`, or no findings. */
  function verdictOf(report, findings) {
    const v = first(report, ['verdict', 'result', 'outcome', 'status']);
    const ok = first(report, ['ok', 'passed', 'clean']);
    let good;
    if (typeof ok === 'boolean') good = ok;
    else if (typeof v === 'string') good = /^(ok|pass(ed)?|clean|good|consistent|no[ _-]?findings)$/i.test(v);
    else good = findings.length === 0;
    const words = typeof v === 'string' ? v : (isObject(v) ? JSON.stringify(v) : (good ? 'no findings' : 'findings'));
    return { good, words };
  }

  function checksOf(report) {
    const checks = first(report, ['checks', 'checks_run', 'rules']);
    if (Array.isArray(checks)) {
      return checks.map((c) => {
        if (!isObject(c)) return { name: show(c), outcome: '' };
        // kvitto-audit/1 counts findings per check; other shapes may name an outcome.
        const found = c.findings;
        const outcome = typeof found === 'number'
          ? (found === 0 ? 'pass' : `${found} finding${found === 1 ? '' : 's'}`)
          : show(first(c, ['outcome', 'status', 'result', 'passed', 'ok']));
        const checked = typeof c.checked === 'number' ? `${c.checked} checked` : '';
        const words = show(first(c, ['description', 'detail', 'message']));
        return {
          name: show(first(c, ['check', 'name', 'rule', 'id'])),
          outcome,
          detail: [words, checked].filter(Boolean).join(' · '),
        };
      });
    }
    if (isObject(checks)) return Object.entries(checks).map(([name, v]) => ({ name, outcome: show(v) }));
    return [];
  }

  function outcomeBadge(outcome) {
    const o = String(outcome).toLowerCase();
    const cls = /^(pass|passed|ok|true|clean)$/.test(o) ? 'good' : /^(fail|failed|false|\d* ?findings?)$/.test(o) ? 'bad' : '';
    return outcome === '' ? null : el('span', { class: `badge ${cls}` }, outcome);
  }

  function renderReport(report) {
    const findings = Array.isArray(first(report, ['findings'])) ? report.findings : [];
    const verdict = verdictOf(report, findings);
    const facts = Object.entries(isObject(report) ? report : {})
      .filter(([name, v]) => scalar(v) && !['verdict', 'ok', 'passed', 'clean'].includes(name));
    const checks = checksOf(report);
    return [
      el('div', { class: `card verdict ${verdict.good ? 'good' : 'bad'}`, 'data-verdict': verdict.good ? 'good' : 'bad' },
        el('h2', {}, verdict.good ? 'The audit found nothing wrong' : `The audit found ${findings.length || 'some'} problem${findings.length === 1 ? '' : 's'}`),
        el('p', {}, 'Verdict: ', el('strong', {}, verdict.words)),
        el('p', {}, el('a', { href: '/audit/report.html', class: 'button' }, 'Open the full HTML report'))),
      facts.length ? el('dl', { class: 'facts' }, facts.map(([name, v]) => [el('dt', {}, name.replace(/_/g, ' ')), el('dd', {}, String(v))])) : null,
      el('h3', {}, `Findings (${findings.length})`),
      findings.length
        ? el('div', { class: 'table-scroll' }, el('table', { id: 'findings' },
          el('thead', {}, el('tr', {}, el('th', {}, 'Log'), el('th', { class: 'num' }, 'Entry'), el('th', {}, 'Rule'), el('th', {}, 'What was seen'))),
          el('tbody', {}, findings.map((f) => isObject(f)
            ? el('tr', { 'data-finding': show(first(f, ['rule', 'code', 'kind'])) },
              el('td', {}, show(first(f, ['log', 'origin', 'log_id']))),
              el('td', { class: 'num' }, first(f, ['index', 'entry', 'entry_index']) !== undefined
                ? show(first(f, ['index', 'entry', 'entry_index']))
                : (typeof f.tree_size === 'number' ? `checkpoint ${f.tree_size}` : '—')),
              el('td', {}, el('code', {}, show(first(f, ['rule', 'code', 'kind']))),
                f.check ? el('div', { class: 'muted small' }, `check ${show(f.check)}`) : null),
              el('td', {}, show(first(f, ['detail', 'message', 'seen', 'description'])),
                Array.isArray(f.related) && f.related.length
                  ? el('div', { class: 'muted small' }, 'involves ', f.related.map((r, j) => [j ? ', ' : '', isObject(r) ? `${show(r.origin)} #${show(r.index)}` : show(r)]))
                  : null,
                isObject(f.evidence) && Object.keys(f.evidence).length
                  ? el('details', { class: 'small' }, el('summary', {}, 'evidence'),
                    el('dl', { class: 'facts' }, Object.entries(f.evidence).map(([k, v]) => [el('dt', {}, k), el('dd', { class: 'mono' }, show(v))])))
                  : null))
            : el('tr', {}, el('td', { colspan: 4 }, show(f)))))))
        : el('p', { class: 'notice' }, 'No findings.'),
      auditedLogs(report),
      el('h3', {}, `Checks run (${checks.length})`),
      checks.length
        ? el('table', { id: 'checks' }, el('tbody', {}, checks.map((c) => el('tr', { 'data-check': c.name },
          el('td', { class: 'nowrap' }, el('code', {}, c.name)), el('td', { class: 'nowrap' }, outcomeBadge(c.outcome)), el('td', { class: 'muted small' }, c.detail || '')))))
        : el('p', { class: 'muted' }, 'The report lists no checks.'),
      el('details', {}, el('summary', {}, 'The report as JSON'), el('pre', { id: 'raw' }, JSON.stringify(report, null, 2))),
    ];
  }

  /** The logs the audit covered, if the report lists them. */
  function auditedLogs(report) {
    const logs = Array.isArray(report.logs) ? report.logs.filter(isObject) : [];
    if (!logs.length) return null;
    const num = (v) => (typeof v === 'number' ? String(v) : '—');
    return [
      el('h3', {}, `Logs audited (${logs.length})`),
      el('div', { class: 'table-scroll' }, el('table', { id: 'audited-logs' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Log'), el('th', {}, 'Operator'), el('th', { class: 'num' }, 'Entries'),
          el('th', { class: 'num' }, 'Replayed'), el('th', { class: 'num' }, 'Sessions'), el('th', { class: 'num' }, 'Energy'), el('th', { class: 'num' }, 'Witnessed'))),
        el('tbody', {}, logs.map((l) => el('tr', {},
          el('td', {}, show(l.origin), l.kind ? [' ', el('span', { class: 'badge' }, show(l.kind))] : null),
          el('td', {}, show(l.operator)),
          el('td', { class: 'num' }, num(l.size)),
          el('td', { class: 'num' }, num(l.entries_replayed)),
          el('td', { class: 'num' }, num(l.sessions)),
          el('td', { class: 'num' }, typeof l.energy_wh === 'number' ? `${(l.energy_wh / 1000).toLocaleString('en-US', { maximumFractionDigits: 3 })} kWh` : '—'),
          el('td', { class: 'num' }, num(l.witnessed_size))))))),
    ];
  }

  let lastReport = null;

  async function renderAudit() {
    const answer = await getJson('/v1/audit/report');
    const key = JSON.stringify([answer.status, answer.body]);
    if (key === lastReport) return; // unchanged: keep the reader's place (an open <details>)
    lastReport = key;
    if (answer.status === 404) {
      fill('audit', el('div', { class: 'notice', 'data-empty': 'audit' },
        el('p', {}, el('strong', {}, 'No audit report yet.')),
        el('p', {}, 'Run ', el('code', {}, 'kvitto audit --dir <node dir>'), ' on this node. It writes ',
          el('code', {}, 'audit/report.json'), ' and ', el('code', {}, 'audit/report.html'), ', which this page then shows.')));
      return;
    }
    if (answer.status !== 200 || !answer.body) {
      fill('audit', el('p', { class: 'error' }, `Could not read the audit report: ${errorText(answer)}`));
      return;
    }
    fill('audit', renderReport(answer.body));
  }

  async function renderLogs() {
    const answer = await getJson('/v1/status');
    if (answer.status !== 200 || !answer.body) return;
    const s = answer.body;
    fill('nav-operator', str(s.log && s.log.operator));
    const alerts = Array.isArray(s.alerts) ? s.alerts : [];
    const box = document.getElementById('alerts');
    box.hidden = alerts.length === 0;
    if (alerts.length) fill('alerts', el('h2', {}, `Split view detected (${alerts.length})`), el('ul', {}, alerts.map((a) => el('li', {}, str(a)))));
    const logs = Array.isArray(s.logs) ? s.logs : [];
    document.querySelector('#logs tbody').replaceChildren(...logs.map((l) => el('tr', { 'data-log': l.id },
      el('td', {}, el('strong', {}, str(l.id)), el('div', { class: 'muted small mono' }, str(l.origin))),
      el('td', {}, str(l.operator)),
      el('td', { class: 'num' }, str(l.checkpoint_size)),
      el('td', { class: 'num' }, str(l.witnessed_size)),
      el('td', {}, (l.cosigners || []).map(K.witnessName).join(', ') || el('span', { class: 'muted' }, 'none')),
      el('td', {}, l.split_view ? el('span', { class: 'badge bad' }, 'split view')
        : l.mirror_error ? el('span', { class: 'badge warn' }, 'mirror stuck')
          : el('span', { class: 'badge good' }, 'consistent')))));
  }

  poll(async () => {
    await Promise.all([renderAudit(), renderLogs()]);
    stamp('updated');
    document.body.dataset.state = 'ready';
  });
})();
