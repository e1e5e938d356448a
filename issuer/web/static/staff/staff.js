// The staff page: post to the card endpoint with the staff member's bearer token and open the
// returned PDF. The token is kept in sessionStorage (this tab, until it closes) and sent only
// in the Authorization header of that request: never in a URL, a cookie or a form.
'use strict';

const TOKEN_KEY = 'healthcode.staff.token';

const MESSAGES = {
  401: 'The token was not accepted (401). Check it, or ask for a new one ' +
       '(healthcode-issuer token create --scope write).',
  403: 'This token may not print cards (403): it needs the write scope.',
  413: 'The request was too large (413).',
};

function $(id) { return document.getElementById(id); }

function say(text, kind) {
  const status = $('status');
  status.textContent = text;
  status.dataset.kind = kind || '';
}

function fileName(response) {
  const header = response.headers.get('Content-Disposition') || '';
  const match = /filename="?([A-Za-z0-9._-]+)"?/.exec(header);
  return match ? match[1] : 'card.pdf';
}

async function problem(response, person) {
  if (response.status === 404) {
    return `No person with id "${person}" (404). Check the id: it starts with "p-".`;
  }
  if (MESSAGES[response.status]) return MESSAGES[response.status];
  let detail = '';
  try {
    const body = await response.json();
    const fields = body.detail && body.detail.json ? body.detail.json : {};
    detail = Object.entries(fields).map(([k, v]) => `${k}: ${[].concat(v).join(' ')}`)
      .join('; ') || body.message || '';
  } catch (_) { /* not JSON: the status says enough */ }
  return `The card could not be printed (${response.status})${detail ? ': ' + detail : ''}.`;
}

let lastUrl = null;

async function printCard(event) {
  event.preventDefault();
  const token = $('token').value.trim();
  const person = $('person').value.trim();
  const days = Number($('days').value);
  $('result').hidden = true;
  if (!token) { say('Enter your API token first.', 'error'); $('token').focus(); return; }
  if (!person) { say('Enter the person id.', 'error'); $('person').focus(); return; }
  if (!Number.isInteger(days) || days < 1 || days > 30) {
    say('A card is valid for 1 to 30 days.', 'error'); $('days').focus(); return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  const url = $('card-form').dataset.cardUrl.replace('__PERSON__', encodeURIComponent(person));
  $('print').disabled = true;
  say('Printing…');
  try {
    const response = await fetch(url, {
      method: 'POST', credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
      headers: {'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json',
                'Accept': 'application/pdf, application/json'},
      body: JSON.stringify({days}),
    });
    const type = response.headers.get('Content-Type') || '';
    if (!response.ok || !type.startsWith('application/pdf')) {
      say(await problem(response, person), 'error');
      return;
    }
    const blob = await response.blob();
    if (lastUrl) URL.revokeObjectURL(lastUrl);
    lastUrl = URL.createObjectURL(blob);
    $('open').href = lastUrl;
    $('save').href = lastUrl;
    $('save').download = fileName(response);
    $('result').hidden = false;
    const opened = window.open(lastUrl, '_blank');
    say(opened ? 'Card ready: print it from the new tab (actual size, 100 %).'
               : 'Card ready: open it with the link below and print it (actual size, 100 %).',
        'done');
  } catch (_) {
    say('Could not reach the issuer service. Check the connection and try again.', 'error');
  } finally {
    $('print').disabled = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('token').value = sessionStorage.getItem(TOKEN_KEY) || '';
  $('token').addEventListener('change', () => {
    const token = $('token').value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token').value = '';
    say('Token forgotten.', '');
  });
  $('card-form').addEventListener('submit', printCard);
});
