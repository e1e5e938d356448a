// A checkpoint verdict by ear and by touch: each verdict has its own tone AND its own rhythm,
// so deny and invalid differ by ear alone; phones also vibrate a pattern per verdict.
// Sound is on unless staff turn it off; browsers hold audio back until one tap on the page,
// which the page asks for in words (`onChange` tells it when to).

// [frequency Hz, start s, length s]: admit one high sine, deny two low square beeps,
// invalid three falling sawtooth notes.
export const TONES = {
  admit: { type: "sine", notes: [[880, 0, 0.15]] },
  deny: { type: "square", notes: [[330, 0, 0.18], [330, 0.26, 0.18]] },
  invalid: { type: "sawtooth", notes: [[660, 0, 0.12], [440, 0.16, 0.12], [262, 0.32, 0.3]] },
};
// Milliseconds on, off, on...: one short buzz, two long ones, three quick and a long.
export const VIBRATIONS = { admit: [120], deny: [300, 150, 300], invalid: [80, 60, 80, 60, 400] };

export class Sound {
  /** `on`: the stored preference; `onChange({on, unlocked})` after every change. */
  constructor(on, onChange = () => {}) {
    this.on = on;
    this.onChange = onChange;
    this.audio = null;
    this.played = [];
    this.vibrated = [];
  }

  get unlocked() { return !!this.audio && this.audio.state === "running"; }

  /** True when sound is on but the browser still holds it back. */
  get heldBack() { return this.on && !!this.audio && !this.unlocked; }

  ensure() {
    if (this.audio || !window.AudioContext) return;
    this.audio = new AudioContext();
    this.audio.addEventListener("statechange", () => this.onChange(this));
  }

  /** Resume the audio (call from a tap or key press). */
  async unlock() {
    this.ensure();
    if (this.on && this.audio && this.audio.state === "suspended") {
      await this.audio.resume().catch(() => {});
    }
    this.onChange(this);
  }

  async set(on) {
    this.on = on;
    await this.unlock();
  }

  /** The first tap or key anywhere lets the audio play (the browser's autoplay rule). */
  listen(target = document) {
    for (const type of ["pointerdown", "keydown"]) {  // i18n: not shown
      target.addEventListener(type, () => this.unlock(), { capture: true });
    }
  }

  /** Play the verdict's tone (when sound is on and allowed) and vibrate its pattern. */
  signal(state) {
    if (VIBRATIONS[state] && navigator.vibrate) {
      try {
        if (navigator.vibrate(VIBRATIONS[state])) this.vibrated.push(state);
      } catch (e) { /* not allowed before a tap: the sound and the screen still say it */ }
    }
    if (!this.on || !this.unlocked || !TONES[state]) return;
    const tone = TONES[state];
    const t0 = this.audio.currentTime;
    for (const [freq, start, length] of tone.notes) {
      const osc = this.audio.createOscillator();
      const gain = this.audio.createGain();
      osc.type = tone.type;
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.25, t0 + start);
      gain.gain.exponentialRampToValueAtTime(0.001, t0 + start + length);
      osc.connect(gain).connect(this.audio.destination);
      osc.start(t0 + start);
      osc.stop(t0 + start + length);
    }
    this.played.push({ state, type: tone.type, frequencies: tone.notes.map((n) => n[0]) });
  }
}
