/*
 * canon's records page: plain JavaScript, no build step, no dependencies.
 *
 * It speaks the PowerDNS API v1 that `canon serve --http` offers, plus
 * canon's additions under .../zones/{zone}/ (check, chain, history, preview).
 * The API key lives in sessionStorage (gone when the tab closes) and goes
 * out only as the X-API-Key header; the page never sets a cookie.
 * Text from the server is put in the page with textContent, never as HTML.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

(function () {
	const KEY_STORE = 'canon.apikey';
	const API = '/api/v1/servers/localhost';

	/* Types whose value is one domain name (RFC 1035 §3.3): a trailing dot is added. */
	const NAME_TYPES = new Set(['CNAME', 'DNAME', 'NS', 'PTR', 'ALIAS']);
	/* Types whose value ends with a domain name after some numbers. */
	const TAIL_NAME_TYPES = {MX: 1, SRV: 3};

	/* Where a rule's complaint belongs in the form. */
	const RULE_FIELD = {
		'cname-and-other-data': 'name', 'cname-at-apex': 'name', 'dname-and-cname': 'name',
		'data-below-dname': 'name', 'alias-and-address': 'name', 'out-of-zone': 'name',
		'soa-not-at-apex': 'name', 'multiple-cnames': 'value', 'multiple-dnames': 'value',
		'multiple-aliases': 'value', 'mx-to-cname': 'value', 'ns-to-cname': 'value',
		'srv-to-cname': 'value', 'ptr-to-cname': 'value', 'cname-loop': 'value',
		'cname-dangling': 'value', 'cname-to-ip': 'value', 'cname-chain': 'value',
		'ttl-mismatch': 'ttl', 'cname-ttl': 'ttl',
	};

	const HINTS = {
		CNAME: 'A CNAME makes this name an alias of another name. The name then holds nothing else: ' +
			'no A, MX or TXT beside it, and only one CNAME (RFC 1034 §3.6.2, RFC 2181 §10.1). ' +
			'Not at the zone itself (@), which holds SOA and NS. The value is a name, never an IP ' +
			'address, and MX or NS records must not point at an alias (RFC 2181 §10.3). ' +
			'Point it straight at the final name: each extra hop costs a lookup.',
		DNAME: 'A DNAME aliases every name below this one (RFC 6672); nothing may sit below it, ' +
			'and not a CNAME beside it.',
		ALIAS: 'An ALIAS answers A and AAAA queries with the target\'s addresses, so it can sit at ' +
			'the zone itself beside SOA, NS and MX; not beside A, AAAA or CNAME at the same name.',
		MX: 'Priority, then the mail server\'s name: 10 mail.example.com. The server name must ' +
			'have A/AAAA records of its own, not a CNAME (RFC 2181 §10.3).',
		NS: 'The name of a name server. It must not be an alias (RFC 2181 §10.3).',
		TXT: 'Text, one record per line; quotes are added. Text longer than 255 characters is ' +
			'split into strings of 255.',
		SRV: 'Priority, weight, port and target: 10 5 5060 sip.example.com. The target must not ' +
			'be an alias (RFC 2782).',
	};

	const VALUE_HELP = {
		A: 'An IPv4 address, like 192.0.2.1. One per line.',
		AAAA: 'An IPv6 address, like 2001:db8::1. One per line.',
		CNAME: 'The name this one is an alias of, like example.com.',
		DNAME: 'The name whose subtree this one mirrors.',
		ALIAS: 'The name whose addresses to answer with.',
		MX: 'Priority and mail server, like 10 mail.example.com. One per line.',
		TXT: 'Text, one record per line.',
		NS: 'A name server, like ns1.example.com. One per line.',
		SRV: 'Priority weight port target, one per line.',
		CAA: 'Flags tag value, like 0 issue "letsencrypt.org".',
		PTR: 'The name this address points to.',
	};

	const state = {
		key: null,
		zones: [],
		zone: null,      /* the zone object from the list */
		rrsets: [],
		editing: null,   /* the rrset being edited, or null when adding */
		pending: null,   /* the PATCH body the preview was made for */
		deleting: null,
		has: {},         /* which of canon's additions answered (false after a 404) */
	};

	const $ = (id) => document.getElementById(id);

	/* Build an element: h('td', {class: 'x'}, 'text', child, ...). */
	function h(tag, attrs, ...children) {
		const el = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (v === null || v === undefined || v === false) continue;
			if (k === 'class') el.className = v;
			else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
			else el.setAttribute(k, v === true ? '' : v);
		}
		for (const c of children.flat()) {
			if (c === null || c === undefined || c === false) continue;
			el.append(c instanceof Node ? c : document.createTextNode(String(c)));
		}
		return el;
	}

	function clear(el) {
		while (el.firstChild) el.removeChild(el.firstChild);
		return el;
	}

	/* ---- the API ---- */

	class ApiError extends Error {
		constructor(status, message, data) {
			super(message);
			this.status = status;
			this.data = data;
		}
	}

	async function api(method, path, body, key) {
		const headers = {'X-API-Key': key || state.key, 'Accept': 'application/json'};
		const init = {method, headers, credentials: 'omit', cache: 'no-store'};
		if (body !== undefined) {
			headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		let res;
		try {
			res = await fetch(path, init);
		} catch (e) {
			throw new ApiError(0, 'The server did not answer (' + e.message + ').');
		}
		const text = await res.text();
		let data = null;
		if (text) {
			try {
				data = JSON.parse(text);
			} catch (e) {
				data = text;
			}
		}
		if (!res.ok) {
			let msg = data && typeof data === 'object' && data.error ? data.error :
				(typeof data === 'string' && data.trim() ? data.trim() : res.status + ' ' + res.statusText);
			if (res.status === 401 && !key) {
				signOut('The server no longer accepts this key: sign in again.');
			}
			throw new ApiError(res.status, msg, data);
		}
		return data;
	}

	/*
	 * A server without canon's additions (a plain PowerDNS) answers them 404
	 * "Not Found"; an unknown zone is 404 "Could not find domain ...".
	 */
	function routeMissing(e) {
		return (e.status === 404 || e.status === 405 || e.status === 501) && /^not found$|^method not allowed$/i.test(e.message.trim());
	}

	function zonePath(zone, tail) {
		return API + '/zones/' + encodeURIComponent(zone.id || zone.name) + (tail || '');
	}

	/* ---- names and values ---- */

	function fqdn(name) {
		return name.endsWith('.') ? name : name + '.';
	}

	/* "blog" for blog.example.com. in example.com.; "@" for the apex. */
	function relName(name, zone) {
		const n = name.toLowerCase(), z = zone.toLowerCase();
		if (n === z) return '@';
		if (n.endsWith('.' + z)) return name.slice(0, name.length - z.length - 1);
		return name;
	}

	/* What the user typed in the name field, as an absolute name in the zone. */
	function absName(input, zone) {
		let s = input.trim();
		if (s === '' || s === '@') return zone;
		const z = zone.toLowerCase();
		if (s.endsWith('.')) return s;
		if (s.toLowerCase() === z.slice(0, -1) || s.toLowerCase().endsWith('.' + z.slice(0, -1))) {
			return s + '.';
		}
		return s + '.' + zone;
	}

	function isIPv4(s) {
		return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) &&
			s.split('.').every((p) => Number(p) <= 255);
	}

	function isIPv6(s) {
		return s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s) && (s.match(/::/g) || []).length <= 1;
	}

	/* TXT as the API wants it: quoted character-strings of at most 255 octets. */
	function txtContent(line) {
		if (/^".*"$/.test(line)) return line;
		const esc = (s) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
		const parts = [];
		for (let i = 0; i < line.length; i += 255) parts.push('"' + esc(line.slice(i, i + 255)) + '"');
		return parts.length ? parts.join(' ') : '""';
	}

	/* The displayed value of a TXT record: its strings joined, unquoted. */
	function txtDisplay(content) {
		const strings = content.match(/"((?:[^"\\]|\\.)*)"/g);
		if (!strings) return content;
		return strings.map((s) => s.slice(1, -1).replace(/\\(.)/g, '$1')).join('');
	}

	function recordContent(type, line) {
		if (type === 'TXT') return txtContent(line);
		if (NAME_TYPES.has(type)) return fqdn(line);
		if (type in TAIL_NAME_TYPES) {
			const parts = line.split(/\s+/);
			if (parts.length === TAIL_NAME_TYPES[type] + 1 && parts[parts.length - 1] !== '.') {
				parts[parts.length - 1] = fqdn(parts[parts.length - 1]);
			}
			return parts.join(' ');
		}
		return line;
	}

	function displayContent(type, content) {
		return type === 'TXT' ? txtDisplay(content) : content;
	}

	/* ---- sign in and out ---- */

	async function signIn(key) {
		const err = $('apikey-error');
		err.textContent = '';
		$('apikey').removeAttribute('aria-invalid');
		if (!key) {
			err.textContent = 'Enter the API key.';
			$('apikey').setAttribute('aria-invalid', 'true');
			$('apikey').focus();
			return;
		}
		$('signin-button').disabled = true;
		try {
			const zones = await api('GET', API + '/zones', undefined, key);
			state.key = key;
			sessionStorage.setItem(KEY_STORE, key);
			$('apikey').value = '';
			showApp(Array.isArray(zones) ? zones : []);
		} catch (e) {
			sessionStorage.removeItem(KEY_STORE);
			state.key = null;
			err.textContent = e.status === 401 ? 'Wrong API key: the server refused it.' : e.message;
			$('apikey').setAttribute('aria-invalid', 'true');
			$('apikey').select();
		} finally {
			$('signin-button').disabled = false;
		}
	}

	function signOut(message) {
		sessionStorage.removeItem(KEY_STORE);
		state.key = null;
		state.zone = null;
		state.zones = [];
		$('app').hidden = true;
		$('signout').hidden = true;
		$('top-zone').textContent = '';
		$('signin').hidden = false;
		$('apikey-error').textContent = message || '';
		if (location.hash) history.replaceState(null, '', location.pathname);
		$('apikey').focus();
	}

	function showApp(zones) {
		$('signin').hidden = true;
		$('app').hidden = false;
		$('signout').hidden = false;
		state.zones = zones.slice().sort((a, b) => a.name.localeCompare(b.name));
		renderZones();
		const wanted = decodeURIComponent(location.hash.replace(/^#/, ''));
		const zone = state.zones.find((z) => z.name === wanted) || state.zones[0];
		if (zone) selectZone(zone);
		else {
			$('zone-title').textContent = 'No zones';
			$('zone-meta').textContent = 'This server serves no zone yet.';
		}
	}

	/* ---- zones ---- */

	function renderZones() {
		const list = clear($('zone-list'));
		for (const z of state.zones) {
			const current = state.zone && state.zone.name === z.name;
			list.append(h('li', {}, h('a', {
				href: '#' + encodeURIComponent(z.name),
				'aria-current': current ? 'page' : null,
				onclick: (ev) => {
					ev.preventDefault();
					selectZone(z);
				},
			}, z.name.replace(/\.$/, ''))));
		}
	}

	async function selectZone(zone) {
		state.zone = zone;
		history.replaceState(null, '', '#' + encodeURIComponent(zone.name));
		$('zone-title').textContent = zone.name.replace(/\.$/, '');
		$('top-zone').textContent = zone.name.replace(/\.$/, '');
		$('rec-suffix').textContent = '.' + zone.name;
		$('chain-name').placeholder = 'blog.' + zone.name.replace(/\.$/, '');
		renderZones();
		closeForm();
		closeDelete();
		clear($('chain-result'));
		$('chain-error').textContent = '';
		await loadRecords();
		loadCheck();
		if (currentTab() === 'history') loadHistory();
	}

	async function loadRecords() {
		const zone = state.zone;
		$('zones-error').textContent = '';
		try {
			const data = await api('GET', zonePath(zone));
			if (state.zone !== zone) return;
			state.rrsets = data.rrsets || [];
			const serial = data.serial !== undefined ? data.serial : data.edited_serial;
			$('zone-meta').textContent = (serial !== undefined ? 'serial ' + serial + ' · ' : '') +
				countLabel(state.rrsets.reduce((n, r) => n + (r.records || []).length, 0), 'record');
			renderRecords();
			/* canon's own fields: why the zone did not load, whether changes can be kept. */
			const own = data.canon || {};
			if (own.error) $('zones-error').textContent = zone.name + ' did not load: ' + own.error;
			else if (own.journal === false) $('zones-error').textContent = zone.name + ': its journal does not work, so changes are refused.';
		} catch (e) {
			if (e.status !== 401) $('zones-error').textContent = zone.name + ': ' + e.message;
		}
	}

	function countLabel(n, word) {
		return n + ' ' + word + (n === 1 ? '' : 's');
	}

	/* ---- the records table ---- */

	const TYPE_ORDER = ['SOA', 'NS', 'A', 'AAAA', 'ALIAS', 'CNAME', 'DNAME', 'MX', 'TXT', 'SRV', 'CAA'];

	function sortedRRsets() {
		const zone = state.zone.name;
		const rank = (t) => {
			const i = TYPE_ORDER.indexOf(t);
			return i < 0 ? TYPE_ORDER.length : i;
		};
		/* The apex first, then names as they read, as a dashboard lists them. */
		const key = (n) => n === zone ? '' : relName(n, zone).toLowerCase();
		return state.rrsets.slice().sort((a, b) =>
			key(a.name).localeCompare(key(b.name)) || rank(a.type) - rank(b.type) ||
			a.type.localeCompare(b.type));
	}

	function renderRecords() {
		const body = clear($('records-body'));
		const filter = $('filter').value.trim().toLowerCase();
		const zone = state.zone.name;
		let shown = 0;
		for (const rr of sortedRRsets()) {
			const records = rr.records || [];
			const text = (rr.name + ' ' + rr.type + ' ' + records.map((r) => r.content).join(' ')).toLowerCase();
			if (filter && !text.includes(filter)) continue;
			shown++;
			const rel = relName(rr.name, zone);
			const values = h('td', {class: 'value', 'data-label': 'Value'});
			for (const r of records) {
				values.append(h('div', {class: 'rdata' + (r.disabled ? ' disabled' : '')},
					rr.type === 'CNAME' ? h('span', {class: 'muted'}, 'alias of ') : null,
					displayContent(rr.type, r.content),
					r.disabled ? h('span', {class: 'badge'}, 'disabled') : null));
			}
			const editable = rr.type !== 'SOA';
			const label = rel + ' ' + rr.type;
			body.append(h('tr', {'data-name': rr.name, 'data-type': rr.type},
				h('td', {class: 'name', 'data-label': 'Name', title: rr.name},
					h('span', {class: 'rel'}, rel)),
				h('td', {class: 'type', 'data-label': 'Type'}, h('span', {class: 'type-tag t-' + rr.type}, rr.type)),
				values,
				h('td', {class: 'num ttl', 'data-label': 'TTL'}, ttlText(rr.ttl)),
				h('td', {class: 'row-actions'},
					editable ? h('button', {type: 'button', class: 'link', 'aria-label': 'Chain of ' + label,
						onclick: () => openChain(rr.name, rr.type === 'CNAME' || rr.type === 'DNAME' ? 'A' : rr.type)}, 'Chain') : null,
					editable ? h('button', {type: 'button', class: 'link', 'aria-label': 'Edit ' + label,
						onclick: () => openForm(rr)}, 'Edit') : null,
					editable ? h('button', {type: 'button', class: 'link danger-link', 'aria-label': 'Delete ' + label,
						onclick: () => openDelete(rr)}, 'Delete') : null)));
		}
		if (!shown) {
			body.append(h('tr', {class: 'empty'}, h('td', {colspan: '5'},
				filter ? 'No record matches the filter.' : 'No records.')));
		}
	}

	function ttlText(ttl) {
		if (ttl === undefined || ttl === null) return '';
		const units = [[86400, 'd'], [3600, 'h'], [60, 'min']];
		for (const [s, u] of units) {
			if (ttl >= s && ttl % s === 0) return ttl + ' (' + ttl / s + ' ' + u + ')';
		}
		return String(ttl);
	}

	/* ---- add and edit ---- */

	const FIELDS = ['name', 'type', 'value', 'ttl'];

	function fieldInput(f) {
		return $('rec-' + f);
	}

	function clearErrors() {
		for (const f of FIELDS) {
			$('rec-' + f + '-error').textContent = '';
			fieldInput(f).removeAttribute('aria-invalid');
		}
		$('rec-form-error').textContent = '';
	}

	function fieldError(field, message) {
		const el = $('rec-' + field + '-error');
		el.textContent = message;
		fieldInput(field).setAttribute('aria-invalid', 'true');
	}

	function openForm(rr) {
		closeDelete();
		$('records-notice').textContent = '';
		state.editing = rr || null;
		state.pending = null;
		const form = $('record-form');
		clearErrors();
		$('preview').hidden = true;
		$('record-form-title').textContent = rr ? 'Edit ' + relName(rr.name, state.zone.name) + ' ' + rr.type : 'Add record';
		fieldInput('name').value = rr ? relName(rr.name, state.zone.name) : '';
		fieldInput('type').value = rr ? rr.type : 'A';
		if (rr && fieldInput('type').value !== rr.type) {
			fieldInput('type').append(h('option', {}, rr.type));
			fieldInput('type').value = rr.type;
		}
		fieldInput('value').value = rr ? (rr.records || []).map((r) => displayContent(rr.type, r.content)).join('\n') : '';
		fieldInput('ttl').value = rr ? rr.ttl : 3600;
		setSubmit('Preview');
		typeChanged();
		form.hidden = false;
		fieldInput(rr ? 'value' : 'name').focus();
	}

	function closeForm() {
		$('record-form').hidden = true;
		state.editing = null;
		state.pending = null;
	}

	function setSubmit(label) {
		$('rec-submit').textContent = label;
	}

	function typeChanged() {
		const type = fieldInput('type').value;
		const hint = $('type-hint');
		if (HINTS[type]) {
			clear(hint).append(h('strong', {}, type + ': '), HINTS[type]);
			hint.hidden = false;
		} else {
			hint.hidden = true;
		}
		$('rec-value-help').textContent = VALUE_HELP[type] || 'The record\'s data in zone file syntax, one per line.';
		fieldInput('value').rows = type === 'TXT' ? 3 : 2;
		formChanged();
	}

	/* Anything edited after a preview needs a new preview. */
	function formChanged() {
		if (state.pending) {
			state.pending = null;
			$('preview').hidden = true;
			setSubmit('Preview');
		}
	}

	/* Read and check the form; returns the PATCH body or null (errors shown). */
	function formBody() {
		clearErrors();
		const zone = state.zone.name;
		const type = fieldInput('type').value;
		const nameIn = fieldInput('name').value.trim();
		const ttlIn = fieldInput('ttl').value.trim();
		const lines = fieldInput('value').value.split('\n').map((l) => l.trim()).filter((l) => l);
		let ok = true;
		if (nameIn === '') {
			fieldError('name', 'Enter a name, or @ for the zone itself.');
			ok = false;
		} else if (/\s/.test(nameIn) || nameIn.includes('..') || nameIn.startsWith('.')) {
			fieldError('name', 'A name is labels separated by dots, without spaces.');
			ok = false;
		}
		const name = ok ? absName(nameIn, zone) : null;
		if (name && !(name.toLowerCase() === zone.toLowerCase() || name.toLowerCase().endsWith('.' + zone.toLowerCase()))) {
			fieldError('name', name + ' is not in ' + zone + '.');
			ok = false;
		}
		const ttl = Number(ttlIn);
		if (ttlIn === '' || !Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647) {
			fieldError('ttl', 'A TTL is a whole number of seconds, 0 to 2147483647 (RFC 2181 §8).');
			ok = false;
		}
		if (!lines.length) {
			fieldError('value', 'Enter a value.');
			ok = false;
		} else if (type === 'A' && !lines.every(isIPv4)) {
			fieldError('value', 'An A record holds an IPv4 address, like 192.0.2.1.');
			ok = false;
		} else if (type === 'AAAA' && !lines.every(isIPv6)) {
			fieldError('value', 'An AAAA record holds an IPv6 address, like 2001:db8::1.');
			ok = false;
		} else if (NAME_TYPES.has(type) && lines.some((l) => isIPv4(l) || isIPv6(l))) {
			fieldError('value', 'A ' + type + ' points to a name, never to an IP address. ' +
				'For an address, use an A or AAAA record.');
			ok = false;
		} else if ((type === 'CNAME' || type === 'DNAME' || type === 'ALIAS') && lines.length > 1) {
			fieldError('value', 'A name has one ' + type + ' at most: it names one target (RFC 2181 §10.1).');
			ok = false;
		}
		if (type === 'CNAME' && name && name.toLowerCase() === zone.toLowerCase()) {
			fieldError('name', 'A CNAME cannot be at the zone itself, which holds SOA and NS ' +
				'(RFC 1034 §3.6.2). Use an ALIAS record there.');
			ok = false;
		}
		if (!ok) return null;

		const records = lines.map((l) => ({content: recordContent(type, l), disabled: false}));
		const rrsets = [];
		const old = state.editing;
		if (old) {
			/* Keep a disabled record disabled when its content did not change. */
			const wasDisabled = new Set((old.records || []).filter((r) => r.disabled).map((r) => r.content));
			for (const r of records) r.disabled = wasDisabled.has(r.content);
			if (old.name.toLowerCase() !== name.toLowerCase() || old.type !== type) {
				rrsets.push({name: old.name, type: old.type, changetype: 'DELETE'});
			}
		} else {
			/* Adding to an RRset that exists keeps its records: the page adds, never overwrites. */
			const existing = state.rrsets.find((r) => r.name.toLowerCase() === name.toLowerCase() && r.type === type);
			if (existing) {
				const have = new Set(records.map((r) => r.content));
				for (const r of existing.records || []) if (!have.has(r.content)) records.unshift(r);
			}
		}
		rrsets.push({name, type, ttl, changetype: 'REPLACE', records});
		return {rrsets};
	}

	/* Put a refusal next to the field it is about. */
	function showChangeError(e) {
		const data = e.data && typeof e.data === 'object' ? e.data : {};
		const msg = e.message;
		if (e.status === 401) return;
		let field = data.field && FIELDS.includes(data.field) ? data.field : null;
		const rule = data.rule || Object.keys(RULE_FIELD).find((r) => msg.includes(r));
		if (!field && rule) field = RULE_FIELD[rule];
		if (!field && /conflicts with pre-existing|other data|already has a CNAME|CNAME.*exclusive/i.test(msg)) field = 'name';
		if (!field && /ttl/i.test(msg)) field = 'ttl';
		if (!field && e.status === 422) field = 'value';
		if (field) {
			fieldError(field, msg);
			fieldInput(field).focus();
		} else {
			$('rec-form-error').textContent = (e.status ? e.status + ': ' : '') + msg;
		}
	}

	async function submitForm(ev) {
		ev.preventDefault();
		if (state.pending) {
			await saveChange(state.pending);
			return;
		}
		const body = formBody();
		if (!body) {
			const bad = FIELDS.find((f) => fieldInput(f).getAttribute('aria-invalid') === 'true');
			if (bad) fieldInput(bad).focus();
			return;
		}
		$('rec-submit').disabled = true;
		try {
			const preview = await previewChange(body);
			state.pending = body;
			renderPreview($('preview'), preview, body);
			$('preview').hidden = false;
			setSubmit('Save');
			$('rec-submit').focus();
			$('rec-submit').scrollIntoView({block: 'nearest'});
		} catch (e) {
			showChangeError(e);
		} finally {
			$('rec-submit').disabled = false;
		}
	}

	/* POST .../preview; null when this server has no preview (a plain PowerDNS). */
	async function previewChange(body) {
		if (state.has.preview === false) return null;
		try {
			const res = await api('POST', zonePath(state.zone, '/preview'), body);
			state.has.preview = true;
			return res || {};
		} catch (e) {
			if ((e.status === 404 || e.status === 405 || e.status === 501) && !state.has.preview &&
				routeMissing(e)) {
				state.has.preview = false;
				return null;
			}
			throw e;
		}
	}

	function findingsOf(preview, ...keys) {
		for (const k of keys) if (Array.isArray(preview[k])) return preview[k];
		return [];
	}

	function renderPreview(box, preview, body) {
		clear(box);
		box.append(h('h3', {}, 'The change'));
		const ul = h('ul', {class: 'plain change-list'});
		/* What goes and what comes, against the records as the page last read them. */
		const line = (sign, rr, ttl, content) => h('li', {},
			h('span', {class: sign === '+' ? 'plus' : 'minus'}, sign === '+' ? '+' : '\u2212'), ' ',
			relName(rr.name, state.zone.name), ' ', ttl, ' ', rr.type, ' ', displayContent(rr.type, content));
		for (const rr of body.rrsets) {
			const old = state.rrsets.find((o) => o.name.toLowerCase() === rr.name.toLowerCase() && o.type === rr.type);
			const oldRecords = old ? old.records || [] : [];
			const newRecords = rr.changetype === 'DELETE' ? [] : rr.records;
			const ttlChanged = old && rr.changetype !== 'DELETE' && old.ttl !== rr.ttl;
			const kept = new Set(newRecords.map((r) => r.content));
			const had = new Set(oldRecords.map((r) => r.content));
			for (const r of oldRecords) if (ttlChanged || !kept.has(r.content)) ul.append(line('-', rr, old.ttl, r.content));
			for (const r of newRecords) if (ttlChanged || !had.has(r.content)) ul.append(line('+', rr, rr.ttl, r.content));
		}
		if (!ul.childNodes.length) ul.append(h('li', {class: 'muted'}, 'No record changes.'));
		box.append(ul);
		if (preview === null) {
			box.append(h('p', {class: 'muted'}, 'This server offers no preview of the checker\'s findings.'));
			return;
		}
		const added = findingsOf(preview, 'added', 'adds', 'new');
		const cleared = findingsOf(preview, 'cleared', 'clears', 'fixed', 'removed');
		if (!added.length && !cleared.length) {
			box.append(h('p', {class: 'ok'}, 'The checker finds nothing new: no finding is added or cleared.'));
		}
		if (added.length) {
			box.append(h('h3', {class: 'bad'}, 'Findings this change adds'));
			box.append(findingsList(added));
		}
		if (cleared.length) {
			box.append(h('h3', {class: 'ok'}, 'Findings this change clears'));
			box.append(findingsList(cleared));
		}
		if (preview.changed === false) box.append(h('p', {class: 'muted'}, 'This changes nothing in the zone.'));
	}

	async function saveChange(body) {
		$('rec-submit').disabled = true;
		try {
			await api('PATCH', zonePath(state.zone), body);
			const rr = body.rrsets[body.rrsets.length - 1];
			const what = relName(rr.name, state.zone.name) + ' ' + rr.type;
			closeForm();
			$('records-notice').textContent = 'Saved ' + what + '.';
			await loadRecords();
			highlight(rr.name, rr.type);
			loadCheck();
		} catch (e) {
			state.pending = null;
			$('preview').hidden = true;
			setSubmit('Preview');
			showChangeError(e);
		} finally {
			$('rec-submit').disabled = false;
		}
	}

	function highlight(name, type) {
		for (const tr of $('records-body').rows) {
			if (tr.dataset.name === name && tr.dataset.type === type) {
				tr.classList.add('fresh');
				tr.scrollIntoView({block: 'nearest'});
			}
		}
	}

	/* ---- delete ---- */

	async function openDelete(rr) {
		closeForm();
		$('records-notice').textContent = '';
		state.deleting = rr;
		const box = $('delete-confirm');
		const body = {rrsets: [{name: rr.name, type: rr.type, changetype: 'DELETE'}]};
		$('delete-title').textContent = 'Delete ' + relName(rr.name, state.zone.name) + ' ' + rr.type + '?';
		$('delete-error').textContent = '';
		clear($('delete-preview')).append(h('p', {class: 'muted'}, 'Asking the checker…'));
		box.hidden = false;
		$('delete-no').focus();
		try {
			const preview = await previewChange(body);
			if (state.deleting !== rr) return;
			renderPreview($('delete-preview'), preview, body);
		} catch (e) {
			clear($('delete-preview'));
			$('delete-error').textContent = e.message;
		}
	}

	function closeDelete() {
		$('delete-confirm').hidden = true;
		state.deleting = null;
	}

	async function confirmDelete() {
		const rr = state.deleting;
		if (!rr) return;
		$('delete-yes').disabled = true;
		try {
			await api('PATCH', zonePath(state.zone), {rrsets: [{name: rr.name, type: rr.type, changetype: 'DELETE'}]});
			closeDelete();
			$('records-notice').textContent = 'Deleted ' + relName(rr.name, state.zone.name) + ' ' + rr.type + '.';
			await loadRecords();
			loadCheck();
		} catch (e) {
			$('delete-error').textContent = e.message;
		} finally {
			$('delete-yes').disabled = false;
		}
	}

	/* ---- findings ---- */

	function findingsList(findings) {
		const ul = h('ul', {class: 'findings'});
		for (const f of findings) {
			const sev = (f.severity || 'info').toLowerCase();
			ul.append(h('li', {class: 'finding sev-' + sev},
				h('div', {class: 'finding-head'},
					h('span', {class: 'badge sev'}, sev),
					f.rule ? h('code', {class: 'rule'}, f.rule) : null,
					f.owner ? h('span', {class: 'owner'}, f.owner + (f.type ? ' ' + f.type : '')) : null),
				f.message ? h('p', {class: 'finding-msg'}, f.message) : null,
				f.hint ? h('p', {class: 'finding-hint muted'}, f.hint) : null));
		}
		return ul;
	}

	async function loadCheck() {
		const zone = state.zone;
		const out = $('check-result');
		$('check-error').textContent = '';
		if (state.has.check === false) return;
		try {
			const data = await api('GET', zonePath(zone, '/check'));
			if (state.zone !== zone) return;
			state.has.check = true;
			const findings = Array.isArray(data) ? data : (data && data.findings) || [];
			const errors = findings.filter((f) => f.severity === 'error').length;
			const count = $('check-count');
			count.textContent = findings.length ? String(findings.length) : '';
			count.className = 'count' + (errors ? ' count-error' : findings.length ? ' count-warning' : '');
			count.setAttribute('aria-label', countLabel(findings.length, 'finding'));
			clear(out);
			if (!findings.length) {
				out.append(h('p', {class: 'ok'}, 'The checker finds nothing wrong with ' + zone.name));
			} else {
				out.append(h('p', {}, countLabel(errors, 'error') + ', ' +
					countLabel(findings.length - errors, 'warning') + '.'));
				out.append(findingsList(findings));
			}
		} catch (e) {
			if (routeMissing(e)) {
				state.has.check = false;
				clear(out).append(h('p', {class: 'muted'}, 'This server does not offer the checker\'s findings.'));
			} else if (e.status !== 401) {
				$('check-error').textContent = e.message;
			}
		}
	}

	/* ---- the chain view ---- */

	function openChain(name, type) {
		selectTab('chain');
		$('chain-name').value = name.replace(/\.$/, '');
		const sel = $('chain-type');
		if (![...sel.options].some((o) => o.value === type)) sel.append(h('option', {}, type));
		sel.value = type;
		followChain();
	}

	async function followChain(ev) {
		if (ev) ev.preventDefault();
		const out = clear($('chain-result'));
		const err = $('chain-error');
		err.textContent = '';
		$('chain-name').removeAttribute('aria-invalid');
		const input = $('chain-name').value.trim();
		if (!input) {
			err.textContent = 'Enter a name to follow.';
			$('chain-name').setAttribute('aria-invalid', 'true');
			$('chain-name').focus();
			return;
		}
		const name = absName(input, state.zone.name);
		const type = $('chain-type').value;
		try {
			const data = await api('GET', zonePath(state.zone, '/chain?name=' + encodeURIComponent(name) +
				'&type=' + encodeURIComponent(type)));
			renderChain(out, data || {}, name, type);
		} catch (e) {
			if (routeMissing(e)) {
				err.textContent = 'This server does not offer the chain view.';
			} else if (e.status !== 401) {
				err.textContent = e.message;
			}
		}
	}

	function first(obj, ...keys) {
		for (const k of keys) if (obj && obj[k] !== undefined && obj[k] !== null) return obj[k];
		return undefined;
	}

	function recordText(r) {
		if (typeof r === 'string') return r;
		const parts = [first(r, 'name', 'owner'), first(r, 'ttl'), first(r, 'type'),
			first(r, 'content', 'target', 'rdata', 'data')];
		return parts.filter((p) => p !== undefined).join(' ');
	}

	/* One link of the chain: {name, ttl, type, target} (canon), or a string. */
	function hopItem(hop, i) {
		if (typeof hop === 'string') return h('li', {class: 'hop'}, hop);
		const htype = first(hop, 'type') || 'CNAME';
		const hopTtl = first(hop, 'ttl');
		return h('li', {class: 'hop'},
			h('span', {class: 'hop-n', 'aria-hidden': 'true'}, String(i + 1)),
			h('div', {class: 'hop-body'},
				h('span', {class: 'hop-from'}, first(hop, 'name', 'owner', 'from') || ''),
				h('span', {class: 'type-tag t-' + htype}, htype),
				h('span', {class: 'arrow', 'aria-hidden': 'true'}, '→'),
				h('span', {class: 'hop-to'}, first(hop, 'target', 'content', 'to') || ''),
				hopTtl !== undefined ? h('span', {class: 'hop-ttl muted'}, 'TTL ' + hopTtl) : null));
	}

	/* The final records: RRsets as the zone's GET gives them, or flat records. */
	function answerLines(answer) {
		const lines = [];
		for (const rr of answer) {
			if (rr && Array.isArray(rr.records)) {
				for (const r of rr.records) {
					lines.push([rr.name, rr.ttl, rr.type, displayContent(rr.type, r.content)].join(' '));
				}
			} else {
				lines.push(recordText(rr));
			}
		}
		return lines;
	}

	const CHAIN_END = {
		ANSWER: 'answered',
		NXDOMAIN: 'the last name does not exist',
		NODATA: 'the last name exists but has no records of this type',
		LOOP: 'the chain comes back to a name it passed: it never ends',
		TOOLONG: 'more hops than the server follows',
		LEFT: 'the chain leaves the zones this server serves; a resolver continues it',
		REFERRAL: 'the chain goes into a delegated zone',
	};

	/* canon: {name, type, status, hops: N, links: [...], answer: [rrsets], ttl}. */
	function renderChain(out, data, name, type) {
		let links = first(data, 'links', 'chain', 'steps');
		if (!Array.isArray(links)) links = Array.isArray(data.hops) ? data.hops : [];
		const answer = first(data, 'answer', 'records', 'final') || [];
		const status = String(first(data, 'status', 'end', 'result') || '');
		const detail = first(data, 'detail', 'reason', 'message');
		const ttl = first(data, 'effective_ttl', 'ttl');
		const hops = typeof data.hops === 'number' ? data.hops : links.length;

		out.append(h('h2', {class: 'chain-title'}, 'Chain of ' + (first(data, 'name', 'qname') || name) + ' ' +
			(first(data, 'type', 'qtype') || type)));
		const ol = h('ol', {class: 'chain'});
		links.forEach((hop, i) => ol.append(hopItem(hop, i)));
		const lines = answerLines(answer);
		if (lines.length) {
			ol.append(h('li', {class: 'hop final'},
				h('span', {class: 'hop-n', 'aria-hidden': 'true'}, '='),
				h('div', {class: 'hop-body'}, ...lines.map((l) => h('div', {class: 'answer-rr'}, l)))));
		}
		out.append(ol);
		/* Leaving the zone is how a DKIM or tracking CNAME works: not a failure. */
		const tone = /^(ANSWER|OK)$/i.test(status) ? 'ok' : /^(LEFT|REFERRAL|NODATA)$/i.test(status) ? 'info' : 'bad';
		out.append(h('p', {class: 'chain-end ' + (status ? tone : '')},
			h('strong', {}, status || 'ended'),
			CHAIN_END[status] ? ': ' + CHAIN_END[status] : '',
			detail ? ' (' + detail + ')' : '',
			' · ' + countLabel(hops, 'hop'),
			' · effective TTL ' + (ttl === undefined || ttl === null ? 'none' : ttl)));
		if (!links.length && !lines.length && !status) {
			out.append(h('pre', {class: 'raw'}, JSON.stringify(data, null, 2)));
		}
	}

	/* ---- history ---- */

	function whenText(t) {
		if (t === undefined || t === null) return '';
		const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
		return isNaN(d) ? String(t) : d.toLocaleString();
	}

	/* Two SOA records that differ in their serial only. */
	function soaSame(a, b) {
		const f = (r) => String(r.content || '').split(/\s+/);
		const x = f(a), y = f(b);
		return x.length === 7 && y.length === 7 && x.every((v, i) => i === 2 || v === y[i]);
	}

	async function loadHistory() {
		const zone = state.zone;
		const list = clear($('history-list'));
		$('history-error').textContent = '';
		try {
			const data = await api('GET', zonePath(zone, '/history'));
			if (state.zone !== zone) return;
			const entries = Array.isArray(data) ? data : (data && (data.changes || data.history || data.entries)) || [];
			if (!entries.length) {
				list.append(h('li', {class: 'muted'}, 'No changes yet.'));
				return;
			}
			for (const e of entries) {
				const lines = h('ul', {class: 'plain change-list'});
				const removed = first(e, 'removed', 'remove', 'deleted') || [];
				const added = first(e, 'added', 'add') || [];
				/* The SOA's serial bump is in the heading: only the records the change was about. */
				const serialOnly = (r) => e.serial_to !== undefined && typeof r === 'object' && r.type === 'SOA' &&
					removed.filter((x) => x.type === 'SOA').length === 1 && added.filter((x) => x.type === 'SOA').length === 1 &&
					soaSame(removed.find((x) => x.type === 'SOA'), added.find((x) => x.type === 'SOA'));
				for (const r of removed) if (!serialOnly(r)) lines.append(h('li', {}, h('span', {class: 'minus'}, '−'), ' ', recordText(r)));
				for (const r of added) if (!serialOnly(r)) lines.append(h('li', {}, h('span', {class: 'plus'}, '+'), ' ', recordText(r)));
				const what = first(e, 'what', 'summary', 'description');
				const serials = e.serial_from !== undefined ? 'serial ' + e.serial_from + ' → ' + e.serial_to :
					e.serial !== undefined ? 'serial ' + e.serial : '';
				list.append(h('li', {class: 'entry'},
					h('div', {class: 'entry-head'},
						h('time', {datetime: typeof e.time === 'number' ? new Date(e.time * 1000).toISOString() : e.time || null},
							whenText(first(e, 'time', 'when'))),
						serials ? h('span', {class: 'muted'}, serials) : null),
					first(e, 'source', 'who') ? h('div', {class: 'source'}, first(e, 'source', 'who')) : null,
					what ? h('div', {}, typeof what === 'string' ? what : JSON.stringify(what)) : null,
					lines.childNodes.length ? lines : null));
			}
		} catch (e) {
			if (routeMissing(e)) {
				list.append(h('li', {class: 'muted'}, 'This server does not keep a change history.'));
			} else if (e.status !== 401) {
				$('history-error').textContent = e.message;
			}
		}
	}

	/* ---- tabs ---- */

	const TABS = ['records', 'chain', 'check', 'history'];

	function currentTab() {
		return TABS.find((t) => $('tab-' + t).getAttribute('aria-selected') === 'true');
	}

	function selectTab(name, focus) {
		for (const t of TABS) {
			const on = t === name;
			$('tab-' + t).setAttribute('aria-selected', on ? 'true' : 'false');
			$('tab-' + t).tabIndex = on ? 0 : -1;
			$('panel-' + t).hidden = !on;
		}
		if (focus) $('tab-' + name).focus();
		if (!state.zone) return;
		if (name === 'history') loadHistory();
		if (name === 'check') loadCheck();
	}

	function tabKeys(ev) {
		const i = TABS.indexOf(currentTab());
		let j = null;
		if (ev.key === 'ArrowRight') j = (i + 1) % TABS.length;
		else if (ev.key === 'ArrowLeft') j = (i + TABS.length - 1) % TABS.length;
		else if (ev.key === 'Home') j = 0;
		else if (ev.key === 'End') j = TABS.length - 1;
		if (j !== null) {
			ev.preventDefault();
			selectTab(TABS[j], true);
		}
	}

	/* ---- start ---- */

	function init() {
		$('signin-form').addEventListener('submit', (ev) => {
			ev.preventDefault();
			signIn($('apikey').value);
		});
		$('signout').addEventListener('click', () => signOut(''));
		$('add-record').addEventListener('click', () => openForm(null));
		$('record-form').addEventListener('submit', submitForm);
		$('record-form').addEventListener('input', formChanged);
		$('rec-type').addEventListener('change', typeChanged);
		$('rec-cancel').addEventListener('click', closeForm);
		$('record-form').addEventListener('keydown', (ev) => {
			if (ev.key === 'Escape') closeForm();
		});
		$('delete-yes').addEventListener('click', confirmDelete);
		$('delete-no').addEventListener('click', closeDelete);
		$('filter').addEventListener('input', () => state.zone && renderRecords());
		$('chain-form').addEventListener('submit', followChain);
		$('check-refresh').addEventListener('click', loadCheck);
		for (const t of TABS) $('tab-' + t).addEventListener('click', () => selectTab(t));
		document.querySelector('.tabs').addEventListener('keydown', tabKeys);

		const saved = sessionStorage.getItem(KEY_STORE);
		if (saved) signIn(saved);
		else $('apikey').focus();
	}

	if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
	else init();
})();
