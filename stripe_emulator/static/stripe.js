/*
 * Fake Stripe.js v3 served by the offline Stripe emulator at /v3/.
 *
 * It mirrors the part of Stripe.js that a Card Element integration uses: Stripe(pk), elements(),
 * elements.create('card'), the Element's methods and events, and stripe.createToken(card, data).
 * The card inputs live in an iframe on the emulator's origin; this page-side script only exchanges
 * postMessages with it, so card numbers never exist in the embedding page.
 */
(function () {
  'use strict';

  // Loading the script twice must not replace the first Stripe (its Elements hold the message routing).
  if (window.Stripe && window.Stripe.__emulator) {
    return;
  }

  // The iframe and the API live where this script came from, as js.stripe.com serves both.
  var scriptEl = document.currentScript;
  var EMULATOR_ORIGIN = new URL(scriptEl ? scriptEl.src : '/', window.location.href).origin;
  var FRAME_PATH = '/v3/elements-inner-card.html';
  var MESSAGE_TAG = '__fakeStripeElements';
  var EVENT_TYPES = ['change', 'ready', 'focus', 'blur', 'escape'];
  var DEFAULT_CLASSES = {
    base: 'StripeElement',
    complete: 'StripeElement--complete',
    empty: 'StripeElement--empty',
    focus: 'StripeElement--focus',
    invalid: 'StripeElement--invalid',
    webkitAutofill: 'StripeElement--webkit-autofill'
  };

  // Frame names are "__privateStripeFrame" + digits, unique on the page.
  var frameCounter = 1000 + Math.floor(Math.random() * 8000);

  function IntegrationError(message) {
    var err = new Error(message);
    err.name = 'IntegrationError';
    return err;
  }

  function assign(target) {
    for (var i = 1; i < arguments.length; i++) {
      var src = arguments[i] || {};
      for (var key in src) {
        if (Object.prototype.hasOwnProperty.call(src, key)) {
          target[key] = src[key];
        }
      }
    }
    return target;
  }

  // Options travel to the frame through JSON; functions or DOM nodes would not survive the trip.
  function plainCopy(value) {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }

  function mergeOptions(current, update) {
    var merged = assign({}, current, update);
    if (current.style && update.style) {
      merged.style = assign({}, current.style);
      for (var variant in update.style) {
        merged.style[variant] = assign({}, current.style[variant], update.style[variant]);
      }
    }
    if (current.classes && update.classes) {
      merged.classes = assign({}, current.classes, update.classes);
    }
    return merged;
  }

  // ---- Element --------------------------------------------------------------------------------

  function CardElement(elements, options) {
    this._elements = elements;
    this._options = plainCopy(options || {});
    this._handlers = {};
    this._container = null;
    this._wrapper = null;
    this._iframe = null;
    this._frameReady = false;
    this._outbox = [];
    this._pending = {};
    this._requestSeq = 0;
    this._destroyed = false;
    this._state = { empty: true, complete: false, invalid: false, focus: false };
    this._onMessage = this._handleMessage.bind(this);
  }

  CardElement.prototype._checkAlive = function () {
    if (this._destroyed) {
      throw IntegrationError('This Element has already been destroyed. Please create a new one.');
    }
  };

  CardElement.prototype.mount = function (target) {
    this._checkAlive();
    var container = target;
    if (typeof target === 'string') {
      container = document.querySelector(target);
      if (!container) {
        throw IntegrationError(
          'The selector you specified (' + target + ') applies to no DOM elements that are currently on the page.'
        );
      }
    }
    if (!container || container.nodeType !== 1) {
      throw IntegrationError('Invalid DOM element. Make sure to call mount() with a valid DOM element or selector.');
    }
    // Mounting again where it already is keeps the frame (and what the customer typed).
    if (this._container === container && this._wrapper && container.contains(this._wrapper)) {
      return;
    }
    if (this._wrapper) {
      this.unmount();
    }
    this._container = container;
    this._frameReady = false;

    var frameName = '__privateStripeFrame' + frameCounter++;
    var config = {
      pk: this._elements._stripe._key,
      parentOrigin: window.location.origin,
      frameName: frameName,
      options: this._options
    };
    var wrapper = document.createElement('div');
    wrapper.className = '__PrivateStripeElement';
    wrapper.style.cssText =
      'margin:0!important;padding:0!important;border:none!important;display:block!important;' +
      'background:transparent!important;position:relative!important;opacity:1!important;';
    var iframe = document.createElement('iframe');
    iframe.name = frameName;
    iframe.title = 'Secure card payment input frame';
    iframe.setAttribute('frameborder', '0');
    iframe.setAttribute('allowtransparency', 'true');
    iframe.setAttribute('scrolling', 'no');
    iframe.setAttribute('role', 'presentation');
    iframe.setAttribute('tabindex', '-1');
    // Height follows the frame's content once it reports it; 1.2em of 16px until then.
    iframe.style.cssText =
      'border:none!important;margin:0!important;padding:0!important;width:1px!important;' +
      'min-width:100%!important;overflow:hidden!important;display:block!important;' +
      'user-select:none!important;color-scheme:light only!important;height:19.2px;';
    // The configuration rides in the fragment, which the browser never sends to the server.
    iframe.src = EMULATOR_ORIGIN + FRAME_PATH + '#' + encodeURIComponent(JSON.stringify(config));
    wrapper.appendChild(iframe);

    window.addEventListener('message', this._onMessage);
    this._wrapper = wrapper;
    this._iframe = iframe;
    container.appendChild(wrapper);
    this._applyClasses();
  };

  CardElement.prototype.unmount = function () {
    this._checkAlive();
    window.removeEventListener('message', this._onMessage);
    if (this._wrapper && this._wrapper.parentNode) {
      this._wrapper.parentNode.removeChild(this._wrapper);
    }
    if (this._container) {
      this._removeClasses();
    }
    this._failPending('The Element was unmounted before the request finished.');
    this._wrapper = null;
    this._iframe = null;
    this._container = null;
    this._frameReady = false;
    this._outbox = [];
    this._state = { empty: true, complete: false, invalid: false, focus: false };
  };

  CardElement.prototype.destroy = function () {
    if (this._destroyed) {
      return;
    }
    this.unmount();
    this._destroyed = true;
    this._handlers = {};
    this._elements._forget(this);
  };

  CardElement.prototype.update = function (options) {
    this._checkAlive();
    this._options = mergeOptions(this._options, plainCopy(options || {}));
    this._send({ type: 'update', options: this._options });
    this._applyClasses();
  };

  CardElement.prototype.clear = function () {
    this._checkAlive();
    this._send({ type: 'clear' });
  };

  CardElement.prototype.focus = function () {
    this._checkAlive();
    // Focus has to enter the frame from this side first; the frame then picks the input.
    if (this._iframe) {
      this._iframe.focus();
    }
    this._send({ type: 'focus' });
  };

  CardElement.prototype.blur = function () {
    this._checkAlive();
    this._send({ type: 'blur' });
  };

  CardElement.prototype.on = function (event, handler) {
    if (EVENT_TYPES.indexOf(event) < 0) {
      throw IntegrationError('Invalid event type "' + event + '" for a card Element.');
    }
    if (typeof handler !== 'function') {
      throw IntegrationError('The handler of "' + event + '" must be a function.');
    }
    (this._handlers[event] = this._handlers[event] || []).push({ fn: handler, once: false });
    return this;
  };
  CardElement.prototype.addEventListener = CardElement.prototype.on;

  CardElement.prototype.once = function (event, handler) {
    this.on(event, handler);
    var list = this._handlers[event];
    list[list.length - 1].once = true;
    return this;
  };

  CardElement.prototype.off = function (event, handler) {
    if (!event) {
      this._handlers = {};
    } else if (!handler) {
      delete this._handlers[event];
    } else if (this._handlers[event]) {
      this._handlers[event] = this._handlers[event].filter(function (h) {
        return h.fn !== handler;
      });
    }
    return this;
  };
  CardElement.prototype.removeEventListener = CardElement.prototype.off;

  CardElement.prototype._emit = function (event, payload) {
    var list = (this._handlers[event] || []).slice();
    this._handlers[event] = (this._handlers[event] || []).filter(function (h) {
      return !h.once;
    });
    for (var i = 0; i < list.length; i++) {
      try {
        list[i].fn(payload);
      } catch (err) {
        // A failing page handler must not break the Element; surface it like an uncaught error.
        setTimeout(function () {
          throw err;
        });
      }
    }
  };

  CardElement.prototype._send = function (message) {
    if (!this._iframe) {
      return false;
    }
    if (!this._frameReady) {
      this._outbox.push(message);
      return true;
    }
    message[MESSAGE_TAG] = true;
    this._iframe.contentWindow.postMessage(message, EMULATOR_ORIGIN);
    return true;
  };

  CardElement.prototype._handleMessage = function (event) {
    // Only this Element's own frame, on the emulator's origin, may talk to it.
    if (!this._iframe || event.source !== this._iframe.contentWindow || event.origin !== EMULATOR_ORIGIN) {
      return;
    }
    var msg = event.data;
    if (!msg || msg[MESSAGE_TAG] !== true) {
      return;
    }
    var base = { elementType: 'card' };
    switch (msg.type) {
      case 'loaded':
        this._frameReady = true;
        var queued = this._outbox;
        this._outbox = [];
        for (var i = 0; i < queued.length; i++) {
          this._send(queued[i]);
        }
        this._emit('ready', base);
        break;
      case 'height':
        this._iframe.style.height = msg.height + 'px';
        break;
      case 'change':
        var change = assign({}, base, {
          empty: !!msg.empty,
          complete: !!msg.complete,
          brand: msg.brand,
          // With the postal field hidden there is no value to report, as in Stripe.js.
          value: msg.postalCode === undefined ? {} : { postalCode: msg.postalCode },
          error: msg.error || undefined
        });
        this._state.empty = change.empty;
        this._state.complete = change.complete;
        this._state.invalid = !!change.error;
        this._applyClasses();
        this._emit('change', change);
        break;
      case 'focus':
      case 'blur':
        this._state.focus = msg.type === 'focus';
        this._applyClasses();
        this._emit(msg.type, base);
        break;
      case 'escape':
        this._emit('escape', base);
        break;
      case 'tokenResult':
        var resolve = this._pending[msg.requestId];
        if (resolve) {
          delete this._pending[msg.requestId];
          resolve(msg.result);
        }
        break;
    }
  };

  CardElement.prototype._requestToken = function (data) {
    var self = this;
    return new Promise(function (resolve) {
      var requestId = ++self._requestSeq;
      self._pending[requestId] = resolve;
      self._send({ type: 'createToken', requestId: requestId, data: plainCopy(data || {}) });
    });
  };

  CardElement.prototype._failPending = function (message) {
    var pending = this._pending;
    this._pending = {};
    for (var id in pending) {
      pending[id]({ error: { type: 'api_connection_error', message: message } });
    }
  };

  CardElement.prototype._classNames = function () {
    return assign({}, DEFAULT_CLASSES, this._options.classes);
  };

  CardElement.prototype._removeClasses = function () {
    var names = this._classNames();
    for (var key in names) {
      if (names[key]) {
        this._container.classList.remove(names[key]);
      }
    }
  };

  // The page styles the container (border, padding, focus ring) through these classes, as with Stripe.
  CardElement.prototype._applyClasses = function () {
    if (!this._container) {
      return;
    }
    var names = this._classNames();
    var list = this._container.classList;
    var flags = {
      base: true,
      empty: this._state.empty,
      complete: this._state.complete,
      invalid: this._state.invalid,
      focus: this._state.focus,
      webkitAutofill: false
    };
    for (var key in flags) {
      if (names[key]) {
        list.toggle(names[key], !!flags[key]);
      }
    }
  };

  // ---- Elements group ---------------------------------------------------------------------------

  function Elements(stripe, options) {
    this._stripe = stripe;
    this._options = options || {};
    this._byType = {};
  }

  Elements.prototype.create = function (type, options) {
    if (type !== 'card') {
      throw IntegrationError('The emulator\'s Stripe.js supports only the "card" Element, not "' + type + '".');
    }
    if (this._byType[type]) {
      throw IntegrationError('Can only create one Element of type ' + type + '.');
    }
    var element = new CardElement(this, options);
    this._byType[type] = element;
    return element;
  };

  Elements.prototype.getElement = function (type) {
    return this._byType[type] || null;
  };

  Elements.prototype.update = function (options) {
    this._options = assign({}, this._options, options);
  };

  Elements.prototype._forget = function (element) {
    for (var type in this._byType) {
      if (this._byType[type] === element) {
        delete this._byType[type];
      }
    }
  };

  // ---- Stripe -----------------------------------------------------------------------------------

  function Stripe(key, options) {
    if (!(this instanceof Stripe)) {
      return new Stripe(key, options);
    }
    if (typeof key !== 'string' || key === '') {
      throw IntegrationError('Please call Stripe() with your publishable key. You used an empty string.');
    }
    if (/^sk_/.test(key)) {
      throw IntegrationError('You should not use your secret key with Stripe.js. Please pass a publishable key instead.');
    }
    this._key = key;
    this._options = options || {};
  }

  Stripe.prototype.elements = function (options) {
    return new Elements(this, options);
  };

  // Resolves {token} or {error} like Stripe.js; only integration mistakes reject.
  Stripe.prototype.createToken = function (element, data) {
    if (typeof element === 'string') {
      return Promise.resolve({
        error: {
          type: 'invalid_request_error',
          message: 'The emulator\'s Stripe.js creates card tokens only, not "' + element + '" tokens.'
        }
      });
    }
    if (!(element instanceof CardElement)) {
      return Promise.reject(IntegrationError('Invalid value for createToken: the first argument must be a card Element.'));
    }
    if (element._destroyed || !element._iframe) {
      return Promise.reject(
        IntegrationError(
          'We could not retrieve data from the specified Element. Please make sure the Element you are ' +
            'attempting to use is still mounted.'
        )
      );
    }
    return element._requestToken(data);
  };

  Stripe.__emulator = true;
  window.Stripe = Stripe;
})();
