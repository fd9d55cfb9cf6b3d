// tinforge web UI: copy buttons, the token target picker, and the token type
// toggle. Plain script (no build step); every feature is a no-op on pages
// without its elements.
(function () {
  'use strict';

  // (1) Copy buttons: <button data-copy-target="ID">.
  function fallbackCopy(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'visually-hidden';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function copied(button) { button.textContent = 'Copied'; }

  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('[data-copy-target]') : null;
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute('data-copy-target'));
    if (!source) { return; }
    var text = source.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button); }, function () {
        if (fallbackCopy(text)) { copied(button); }
      });
    } else if (fallbackCopy(text)) {
      copied(button);
    }
  });

  // (2) Target picker on the new token form.
  var search = document.getElementById('target-search');
  var results = document.getElementById('target-results');
  var form = search ? search.form : null;
  if (search && results && form) {
    var timer = null;
    var latest = 0;

    var addTarget = function (item) {
      var input = form.elements.namedItem(item.kind === 'group' ? 'groups' : 'projects');
      if (!input || typeof input.value !== 'string') { return; }
      var parts = input.value.split(',').map(function (s) { return s.trim(); })
        .filter(function (s) { return s !== ''; });
      if (parts.indexOf(item.full_path) === -1) { parts.push(item.full_path); }
      input.value = parts.join(', ');
      var selected = form.querySelector('input[name="boundary"][value="selected"]');
      if (selected) { selected.checked = true; }
    };

    var show = function (items) {
      results.textContent = '';
      items.forEach(function (item) {
        if (!item || typeof item.full_path !== 'string') { return; }
        var li = document.createElement('li');
        var button = document.createElement('button');
        button.type = 'button';
        button.className = 'button button-small';
        button.textContent = 'Add ' + (item.kind === 'group' ? 'group ' : 'project ') + item.full_path;
        button.addEventListener('click', function () { addTarget(item); });
        li.appendChild(button);
        results.appendChild(li);
      });
    };

    search.addEventListener('input', function () {
      clearTimeout(timer);
      var q = search.value.trim();
      if (q.length < 1) { results.textContent = ''; return; }
      timer = setTimeout(function () {
        var ticket = ++latest;
        fetch('/-/user_settings/personal_access_tokens/targets?search=' + encodeURIComponent(q),
          { credentials: 'same-origin', headers: { Accept: 'application/json' } })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) {
            if (ticket === latest) { show(Array.isArray(items) ? items : []); }
          }, function () { if (ticket === latest) { show([]); } });
      }, 150);
    });

    // Enter in the search box must not submit the token form.
    search.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') { event.preventDefault(); }
    });
  }

  // (3) Show the fine-grained or the legacy section by token type.
  var fine = document.getElementById('fine-grained-section');
  var legacy = document.getElementById('legacy-section');
  var radios = document.querySelectorAll('input[name="token_type"]');
  if (fine && legacy && radios.length) {
    var sync = function () {
      var checked = document.querySelector('input[name="token_type"]:checked');
      var isLegacy = checked !== null && checked.value === 'legacy';
      fine.hidden = isLegacy;
      legacy.hidden = !isLegacy;
    };
    Array.prototype.forEach.call(radios, function (r) { r.addEventListener('change', sync); });
    sync();
  }
})();
