// Applies a run's events strictly in seq order, once each, whatever order and how many
// times they arrive (HTTP replay pages, websocket pushes, a resume after reconnect).
// A seq at or below the last applied one is a duplicate and dropped; a jump ahead first
// fetches the missing range, so nothing is skipped.
(function (root) {
  "use strict";

  // apply(seq, event): show one event.  fetchAfter(seq) -> Promise of
  // {events: [{seq, event}], more: bool, run: {...}}.  onRun(state): run header changes.
  function Sequencer(apply, fetchAfter, onRun) {
    this.last = 0;
    this.apply = apply;
    this.fetchAfter = fetchAfter;
    this.onRun = onRun || function () {};
    this.chain = Promise.resolve();
  }
  Sequencer.prototype._take = function (seq, event) {
    if (seq <= this.last) return;
    if (seq !== this.last + 1) throw new Error("gap before " + seq);
    this.last = seq;
    this.apply(seq, event);
  };
  Sequencer.prototype._replay = function () {
    var self = this;
    return this.fetchAfter(this.last).then(function (page) {
      // The database is the record: what it returns after ``last`` is the next stretch.
      page.events.forEach(function (item) {
        if (item.seq <= self.last) return;
        self.last = item.seq;
        self.apply(item.seq, item.event);
      });
      if (page.run) self.onRun(page.run);
      if (page.more) return self._replay();
    });
  };
  Sequencer.prototype._queue = function (fn) {
    this.chain = this.chain.then(fn).catch(function (err) { if (root.console) root.console.warn(err); });
    return this.chain;
  };
  // Everything after the last applied seq, page by page (also the initial load).
  Sequencer.prototype.replay = function () { return this._queue(this._replay.bind(this)); };
  // One pushed event.
  Sequencer.prototype.push = function (seq, event) {
    var self = this;
    return this._queue(function () {
      if (seq <= self.last) return;
      if (seq > self.last + 1) {
        return self._replay().then(function () { if (seq === self.last + 1) self._take(seq, event); });
      }
      self._take(seq, event);
    });
  };
  // A run header message: ordered after the events received before it.
  Sequencer.prototype.run = function (state) {
    var self = this;
    return this._queue(function () { self.onRun(state); });
  };

  if (typeof module !== "undefined" && module.exports) module.exports = Sequencer;
  else root.Sequencer = Sequencer;
})(typeof window !== "undefined" ? window : globalThis);
