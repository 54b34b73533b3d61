//! The call's file channel: files offered, sent as fast as the receiver takes them, checked with
//! their SHA-256, and kept by the browser (never in wasm memory) until saved.
//!
//! In the page's own call both ends are here: the local peer sends, the remote one receives. In
//! a room each call has one end here, which both sends and receives.

use crate::error::Error;
use crate::page::files::Row;
use crate::page::log::now;
use crate::page::Page;
use crate::transfer::incoming::Taken;
use crate::transfer::progress::{rate_text, size_text, Progress};
use crate::transfer::wire::{chunk_size, hex, MAX_CONTROL};
use crate::transfer::{Control, Header, Incoming, Outgoing, Stage, Violation};
use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use js_sys::{Array, ArrayBuffer, Function, JsString, Promise, Uint8Array};
use sha2::{Digest, Sha256};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    Blob, BlobPropertyBag, MessageEvent, RtcDataChannel, RtcDataChannelState, RtcDataChannelType,
    RtcPeerConnection, Url,
};

/// The channel's label: the peer that makes the chat channel makes this one beside it.
pub const LABEL: &str = "file";

/// Sending pauses above this much queued in the channel and resumes when it drains to [`LOW`]:
/// enough to keep a fast link busy, little enough that a chat line is not held back long.
const HIGH: u32 = 1 << 20;
const LOW: u32 = 256 * 1024;

/// Chunks read from the file at once: one read, and one copy into wasm memory for the hash, per
/// 16 chunks.
const READ_CHUNKS: u64 = 16;

/// Chunks received are folded into one Blob every 16 MiB: the browser may keep a large Blob on
/// disk, and the page never holds more than this in separate pieces.
const FOLD: u64 = 16 << 20;

/// The bars and figures move at most this often (ms): a DOM write per chunk would cost more
/// than the chunk.
const SHOW_EVERY: f64 = 100.0;

/// And at least this often while a file moves (ms), bytes or none.
const TICK_MS: u32 = 500;

/// The call's file channels on this page; dropping it closes them and stops what is going.
pub struct Files {
    page: Rc<Page>,
    in_page: bool,
    /// Who is at the other end, as the rows name them: shared with every end, so that an end
    /// announced after the name was given has it too.
    other: Rc<RefCell<String>>,
    ends: RefCell<Vec<Rc<End>>>,
    /// Told when a channel opens or closes: the file picker follows.
    changed: Rc<dyn Fn()>,
}

/// One end of a file channel.
struct End {
    name: &'static str,
    channel: RtcDataChannel,
    /// Its connection: the chunk size comes from `sctp.maxMessageSize`.
    pc: RtcPeerConnection,
    page: Rc<Page>,
    in_page: bool,
    other: Rc<RefCell<String>>,
    next_id: Cell<u32>,
    sending: RefCell<Option<Sending>>,
    receiving: RefCell<Option<Receiving>>,
    /// Wakes the sending loop: the channel drained, closed, or the file stopped.
    wake: RefCell<Vec<Function>>,
    /// Moves the bars while a file moves, so that a stalled link shows as stalled: the rows
    /// change otherwise only when bytes come.
    ticker: RefCell<Option<Interval>>,
    listeners: RefCell<Vec<EventListener>>,
}

struct Sending {
    transfer: Outgoing,
    file: Blob,
    row: Row,
    progress: Progress,
    shown: f64,
    started: f64,
    _buttons: Vec<EventListener>,
}

struct Receiving {
    transfer: Incoming,
    hasher: Sha256,
    /// Chunks not folded yet, and the Blob of those folded before.
    parts: Array,
    folded: Option<Blob>,
    unfolded: u64,
    /// The chunk's bytes on their way through the hash: one chunk of wasm memory, reused.
    buffer: Vec<u8>,
    row: Row,
    progress: Progress,
    shown: f64,
    started: f64,
    _buttons: Vec<EventListener>,
}

impl Files {
    pub fn new(page: Rc<Page>, in_page: bool, changed: Rc<dyn Fn()>) -> Self {
        Self {
            page,
            in_page,
            other: Rc::new(RefCell::new("Them".to_owned())),
            ends: RefCell::default(),
            changed,
        }
    }

    /// Takes `channel`, of the peer `name` on `pc`, as an end of the file channel.
    pub fn add(&self, name: &'static str, channel: RtcDataChannel, pc: &RtcPeerConnection) {
        channel.set_binary_type(RtcDataChannelType::Arraybuffer);
        channel.set_buffered_amount_low_threshold(LOW);
        let end = Rc::new(End {
            name,
            channel,
            pc: pc.clone(),
            page: Rc::clone(&self.page),
            in_page: self.in_page,
            other: Rc::clone(&self.other),
            next_id: Cell::new(1),
            sending: RefCell::default(),
            receiving: RefCell::default(),
            wake: RefCell::default(),
            ticker: RefCell::default(),
            listeners: RefCell::default(),
        });
        let listen = |event: &'static str, action: fn(&Rc<End>, &web_sys::Event)| {
            let weak = Rc::downgrade(&end);
            EventListener::new(&end.channel, event, move |e| {
                if let Some(end) = weak.upgrade() {
                    action(&end, e);
                }
            })
        };
        let changed = Rc::clone(&self.changed);
        let weak = Rc::downgrade(&end);
        let state_changed = move |open: bool| {
            if let Some(end) = weak.upgrade() {
                if !open {
                    end.lost("The file channel closed before the file was through");
                }
            }
            changed();
        };
        let (opened, closed) = (state_changed.clone(), state_changed);
        let listeners = vec![
            EventListener::new(&end.channel, "open", move |_| opened(true)),
            EventListener::new(&end.channel, "close", move |_| closed(false)),
            listen("message", End::message),
            listen("bufferedamountlow", |end, _| end.wake_up()),
        ];
        *end.listeners.borrow_mut() = listeners;
        self.ends.borrow_mut().push(end);
    }

    /// Names the other end on the rows ("Them" in a call of two).
    pub fn set_other(&self, other: &str) {
        if *self.other.borrow() != other {
            *self.other.borrow_mut() = other.to_owned();
        }
    }

    /// Whether a file can go out now.
    pub fn is_open(&self) -> bool {
        self.sender().is_some()
    }

    /// The end that sends: in the page's own call the local peer's; in a room the only one.
    fn sender(&self) -> Option<Rc<End>> {
        let ends = self.ends.borrow();
        ends.iter()
            .filter(|e| e.channel.ready_state() == RtcDataChannelState::Open)
            .find(|e| !self.in_page || e.name == "local")
            .cloned()
    }

    /// Offers `file` to the other end; `Err` says why it cannot go now.
    pub fn send(&self, file: &web_sys::File) -> Result<(), Error> {
        let end = self.sender().ok_or(Error::FileRefused(
            "The file channel is not open yet: wait until the call is connected.".to_owned(),
        ))?;
        end.offer(file)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        for end in self.ends.take() {
            end.lost("The call ended before the file was through");
            end.channel.close();
        }
    }
}

impl End {
    fn offer(self: &Rc<Self>, file: &web_sys::File) -> Result<(), Error> {
        if let Some(sending) = self.sending.borrow().as_ref() {
            if !sending.transfer.stage().is_over() {
                return Err(Error::FileRefused(format!(
                    "{} is still on its way: wait for it, or cancel it, before sending another file.",
                    sending.transfer.name
                )));
            }
        }
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        let max = crate::js::number(&crate::js::get(&self.pc, "sctp"), "maxMessageSize");
        let size = file.size().max(0.0) as u64;
        let (transfer, offer) = Outgoing::new(id, &file.name(), size, chunk_size(max));
        let title = if self.in_page {
            format!("{} peer sends {}", self.name, transfer.name)
        } else {
            format!("To {}: {}", self.other.borrow(), transfer.name)
        };
        let row = self
            .page
            .files
            .row(true, &title)
            .ok_or(Error::MissingElement("transfers"))?;
        row.state(Stage::Asking.name(true));
        row.progress(
            0,
            size,
            &format!("{}, waiting for an answer…", size_text(size)),
        );
        let mut buttons = vec![];
        if let Some(button) = row.button("Cancel", "cancel") {
            let weak = Rc::downgrade(self);
            buttons.push(EventListener::new(&button, "click", move |_| {
                if let Some(end) = weak.upgrade() {
                    end.cancel_sending(id);
                }
            }));
        }
        self.page.log.step(&format!(
            "{} peer offers the file “{}” ({})",
            self.name,
            transfer.name,
            size_text(size)
        ));
        *self.sending.borrow_mut() = Some(Sending {
            transfer,
            file: Clone::clone(file.as_ref()),
            row,
            progress: Progress::default(),
            shown: 0.0,
            started: now(),
            _buttons: buttons,
        });
        self.send_control(&offer);
        Ok(())
    }

    fn send_control(&self, control: &Control) {
        if let Err(e) = self.channel.send_with_str(&control.encode()) {
            let e = Error::in_step("Send on the file channel", e.into());
            self.page.log.step(&format!("{} peer: {e}", self.name));
        }
    }

    fn message(self: &Rc<Self>, event: &web_sys::Event) {
        let Some(data) = event.dyn_ref::<MessageEvent>().map(MessageEvent::data) else {
            return;
        };
        if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
            return self.chunk(buffer);
        }
        // Measured before it is copied into wasm memory: the other end may send a text of a GiB.
        if data
            .dyn_ref::<JsString>()
            .is_some_and(|text| text.length() as usize > MAX_CONTROL)
        {
            self.page.log.step(&format!(
                "{} peer ignored an oversized message on the file channel",
                self.name
            ));
            return;
        }
        let Some(control) = data.as_string().and_then(|text| Control::decode(&text)) else {
            self.page.log.step(&format!(
                "{} peer ignored a file channel message it does not know",
                self.name
            ));
            return;
        };
        match control {
            Control::Offer { id, size, name } => self.offered(id, size, &name),
            Control::Cancel { id } => self.with_receiving(id, |end, r| {
                r.transfer.cancelled();
                end.received_over(r, "The sender cancelled it: nothing was kept.");
            }),
            Control::End { id, sha256 } => self.ended(id, sha256),
            answer => self.answered(&answer),
        }
    }

    // The sending side.

    /// The receiver's answer to the file going out.
    fn answered(self: &Rc<Self>, answer: &Control) {
        let mut slot = self.sending.borrow_mut();
        let Some(sending) = slot.as_mut().filter(|s| s.transfer.id == answer.id()) else {
            return;
        };
        let was = sending.transfer.stage();
        if was.is_over() {
            // Crossed messages: an ack in flight when this end cancelled.
            return;
        }
        if let Err(violation) = sending.transfer.answer(answer) {
            self.send_control(&Control::Cancel {
                id: sending.transfer.id,
            });
            let text = format!("Stopped: {violation}.");
            return self.sent_over(sending, &text);
        }
        let stage = sending.transfer.stage();
        let other = self.other_end();
        match stage {
            Stage::Moving if was == Stage::Asking => {
                self.page.log.step(&format!(
                    "{} peer: “{}” accepted",
                    self.name, sending.transfer.name
                ));
                sending.row.state(stage.name(true));
                sending.started = now();
                show_sending(sending, true);
                spawn_local(pump(Rc::downgrade(self), sending.transfer.id));
                self.tick_while_moving();
            }
            Stage::Moving | Stage::Checking => show_sending(sending, false),
            Stage::Done => {
                let took = now() - sending.started;
                let text = format!(
                    "{} arrived whole (SHA-256 checked) in {:.1} s: {}.",
                    size_text(sending.transfer.size),
                    took / 1000.0,
                    average(sending.transfer.size, took)
                );
                self.sent_over(sending, &text);
            }
            Stage::Refused => self.sent_over(sending, &format!("{other} refused it.")),
            Stage::Cancelled { .. } => {
                self.sent_over(sending, &format!("{other} cancelled it."));
            }
            Stage::Broken => self.sent_over(
                sending,
                &format!("{other} says it arrived damaged: nothing was kept."),
            ),
            Stage::Asking | Stage::Lost => {}
        }
        drop(slot);
        self.wake_up();
    }

    fn cancel_sending(&self, id: u32) {
        let mut slot = self.sending.borrow_mut();
        let Some(sending) = slot.as_mut().filter(|s| s.transfer.id == id) else {
            return;
        };
        if let Some(cancel) = sending.transfer.cancel() {
            self.send_control(&cancel);
            self.sent_over(sending, "You cancelled it.");
        }
        drop(slot);
        self.wake_up();
    }

    /// The file going out is past its last step: the row says how it ended.
    fn sent_over(&self, sending: &mut Sending, text: &str) {
        let stage = sending.transfer.stage();
        sending.row.state(stage.name(true));
        sending.row.clear_actions();
        if stage == Stage::Done {
            sending
                .row
                .progress(sending.transfer.size, sending.transfer.size, text);
        } else {
            sending.row.say(text);
        }
        self.page.log.step(&format!(
            "{} peer, “{}”: {text}",
            self.name, sending.transfer.name
        ));
        self.page
            .files
            .announce(&format!("{}: {text}", sending.transfer.name));
    }

    /// The next chunk of transfer `id` if it is still wanted, with what to read it from.
    fn next_chunk(&self, id: u32) -> Option<(u64, usize, Blob, u64)> {
        let slot = self.sending.borrow();
        let sending = slot.as_ref().filter(|s| s.transfer.id == id)?;
        let (offset, len) = sending.transfer.next_chunk()?;
        Some((offset, len, sending.file.clone(), sending.transfer.size))
    }

    fn chunk_sent(&self, id: u32, bytes: usize) {
        if let Some(sending) = self.sending.borrow_mut().as_mut() {
            if sending.transfer.id == id {
                sending.transfer.sent(bytes);
            }
        }
    }

    /// Every byte of `id` went out: the end, with the hash.
    fn all_sent(&self, id: u32, sha256: [u8; 32]) {
        let mut slot = self.sending.borrow_mut();
        let Some(sending) = slot.as_mut().filter(|s| s.transfer.id == id) else {
            return;
        };
        if let Some(end) = sending.transfer.end(sha256) {
            self.send_control(&end);
            self.page.log.step(&format!(
                "{} peer sent every byte of “{}”, SHA-256 {}",
                self.name,
                sending.transfer.name,
                hex(&sha256)
            ));
            show_sending(sending, true);
            // Past the end there is nothing to cancel (see `Outgoing::cancel`).
            sending.row.clear_actions();
        }
    }

    fn send_failed(&self, id: u32, why: &str) {
        let mut slot = self.sending.borrow_mut();
        let Some(sending) = slot.as_mut().filter(|s| s.transfer.id == id) else {
            return;
        };
        if let Some(cancel) = sending.transfer.fail() {
            self.send_control(&cancel);
            self.sent_over(sending, why);
        }
    }

    /// A promise the sending loop awaits; [`Self::wake_up`] settles it.
    fn wait(&self) -> Promise {
        Promise::new(&mut |resolve, _| self.wake.borrow_mut().push(resolve))
    }

    fn wake_up(&self) {
        for resolve in self.wake.take() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }

    /// Whether the loop sending `id` should wait for the channel to drain: only while the
    /// channel is open and the file still wanted, or it would wait for an event that never comes.
    fn must_wait(&self, id: u32) -> bool {
        self.channel.ready_state() == RtcDataChannelState::Open
            && self.channel.buffered_amount() > HIGH
            && self.next_chunk(id).is_some()
    }

    // The receiving side.

    fn offered(self: &Rc<Self>, id: u32, size: u64, name: &str) {
        let busy = self
            .receiving
            .borrow()
            .as_ref()
            .is_some_and(|r| !r.transfer.stage().is_over());
        if busy {
            // One file at a time each way: the other end offers the next one when this is done.
            self.page.log.step(&format!(
                "{} peer refused “{name}”: another file is still arriving",
                self.name
            ));
            return self.send_control(&Control::Refuse { id });
        }
        let transfer = Incoming::offered(id, size, name);
        let title = if self.in_page {
            format!("{} peer is offered {name}", self.name)
        } else {
            format!("From {}: {name}", self.other.borrow())
        };
        let Some(row) = self.page.files.row(false, &title) else {
            return self.send_control(&Control::Refuse { id });
        };
        row.state(Stage::Asking.name(false));
        row.progress(0, size, &format!("{}: save it?", size_text(size)));
        let mut buttons = vec![];
        for (label, action) in [
            ("Accept", "accept"),
            ("Refuse", "refuse"),
            ("Cancel", "cancel"),
        ] {
            let Some(button) = row.button(label, action) else {
                continue;
            };
            if action == "cancel" {
                button.set_hidden(true);
            }
            let weak = Rc::downgrade(self);
            buttons.push(EventListener::new(&button, "click", move |_| {
                if let Some(end) = weak.upgrade() {
                    end.answer_offer(id, action);
                }
            }));
        }
        self.page.log.step(&format!(
            "{} peer was offered “{name}” ({})",
            self.name,
            size_text(size)
        ));
        self.page.files.announce(&format!(
            "{title} ({}): accept or refuse it under Files.",
            size_text(size)
        ));
        *self.receiving.borrow_mut() = Some(Receiving {
            transfer,
            hasher: Sha256::new(),
            parts: Array::new(),
            folded: None,
            unfolded: 0,
            buffer: Vec::new(),
            row,
            progress: Progress::default(),
            shown: 0.0,
            started: now(),
            _buttons: buttons,
        });
    }

    /// Accept, Refuse or Cancel pressed on the file coming in.
    fn answer_offer(self: &Rc<Self>, id: u32, action: &str) {
        self.with_receiving(id, |end, r| match action {
            "accept" => {
                if let Some(accept) = r.transfer.accept() {
                    end.send_control(&accept);
                    r.started = now();
                    r.row.state(Stage::Moving.name(false));
                    show_receiving(r, true);
                    r.row.only("cancel");
                }
            }
            "refuse" => {
                if let Some(refuse) = r.transfer.refuse() {
                    end.send_control(&refuse);
                    end.received_over(r, "You refused it.");
                }
            }
            _ => {
                if let Some(stop) = r.transfer.cancel() {
                    end.send_control(&stop);
                    end.received_over(r, "You cancelled it: nothing was kept.");
                }
            }
        });
        if action == "accept" {
            self.tick_while_moving();
        }
    }

    /// Starts moving the bars on a timer, if they are not moving yet.
    fn tick_while_moving(self: &Rc<Self>) {
        if self.ticker.borrow().is_some() {
            return;
        }
        let weak = Rc::downgrade(self);
        let ticker = Interval::new(TICK_MS, move || {
            if let Some(end) = weak.upgrade() {
                end.tick();
            }
        });
        *self.ticker.borrow_mut() = Some(ticker);
    }

    fn tick(&self) {
        let mut moving = false;
        if let Some(sending) = self.sending.borrow_mut().as_mut() {
            if matches!(sending.transfer.stage(), Stage::Moving | Stage::Checking) {
                show_sending(sending, true);
                moving = true;
            }
        }
        if let Some(r) = self.receiving.borrow_mut().as_mut() {
            if r.transfer.stage() == Stage::Moving {
                show_receiving(r, true);
                moving = true;
            }
        }
        if !moving {
            // Dropped from its own callback: wasm-bindgen frees it once the call returns.
            self.ticker.take();
        }
    }

    fn with_receiving(&self, id: u32, action: impl FnOnce(&Self, &mut Receiving)) {
        let mut slot = self.receiving.borrow_mut();
        if let Some(receiving) = slot.as_mut().filter(|r| r.transfer.id == id) {
            action(self, receiving);
        }
    }

    fn chunk(&self, buffer: &ArrayBuffer) {
        let mut slot = self.receiving.borrow_mut();
        let Some(r) = slot.as_mut() else {
            return;
        };
        let total = buffer.byte_length() as usize;
        let mut head = [0; crate::transfer::wire::HEADER];
        let header = (total >= head.len())
            .then(|| {
                Uint8Array::new_with_byte_offset_and_length(buffer, 0, head.len() as u32)
                    .copy_to(&mut head);
                Header::read(&head)
            })
            .flatten();
        let Some(header) = header else {
            if r.transfer.stage().is_over() {
                return;
            }
            return self.violated(r, Violation::WrongSize { bytes: total });
        };
        let bytes = total - head.len();
        match r.transfer.chunk(header.id, header.offset, bytes) {
            Ok(Taken::Stale) => {}
            Err(violation) => self.violated(r, violation),
            Ok(Taken::Keep(ack)) => {
                let data = Uint8Array::new_with_byte_offset_and_length(
                    buffer,
                    head.len() as u32,
                    bytes as u32,
                );
                r.buffer.resize(bytes, 0);
                data.copy_to(&mut r.buffer);
                r.hasher.update(&r.buffer);
                r.parts.push(&data);
                r.unfolded += bytes as u64;
                if r.unfolded >= FOLD {
                    r.fold();
                }
                if let Some(ack) = ack {
                    self.send_control(&ack);
                }
                show_receiving(r, false);
            }
        }
    }

    fn violated(&self, r: &mut Receiving, violation: Violation) {
        if let Some(broken) = r.transfer.violated() {
            self.send_control(&broken);
        }
        self.received_over(r, &format!("Stopped: {violation}. Nothing was kept."));
    }

    fn ended(&self, id: u32, claimed: [u8; 32]) {
        self.with_receiving(id, |end, r| {
            match r.transfer.end() {
                Ok(true) => {}
                // The end of a file this side stopped: it crossed the stop.
                Ok(false) => return,
                Err(violation) => return end.violated(r, violation),
            }
            let hash: [u8; 32] = std::mem::take(&mut r.hasher).finalize().into();
            if hash != claimed {
                end.send_control(&r.transfer.checked(false).unwrap_or(Control::Broken { id }));
                return end.received_over(
                    r,
                    "It arrived damaged (its SHA-256 does not match the sender's): nothing was kept.",
                );
            }
            // The link first: the sender hears "verified" only of a file this side can offer.
            let url = r.keep();
            let Some(verified) = r.transfer.checked(url.is_ok()) else {
                return;
            };
            end.send_control(&verified);
            match url {
                Ok(url) => {
                    let took = now() - r.started;
                    let text = format!(
                        "{} arrived whole in {:.1} s: {}. SHA-256 {}",
                        size_text(r.transfer.size),
                        took / 1000.0,
                        average(r.transfer.size, took),
                        hex(&hash)
                    );
                    end.received_over(r, &text);
                    r.row.link(&url, &r.transfer.name);
                    end.page.files.keep_url(url);
                }
                Err(e) => {
                    let e = Error::in_step("Keep the file received", e);
                    end.received_over(r, &format!("{e}. Nothing was kept."));
                }
            }
        });
    }

    /// The file coming in is past its last step: the row says how it ended, and what was
    /// received goes unless the file is whole.
    fn received_over(&self, r: &mut Receiving, text: &str) {
        let stage = r.transfer.stage();
        if stage != Stage::Done {
            r.parts = Array::new();
            r.folded = None;
            r.unfolded = 0;
        }
        r.row.state(stage.name(false));
        r.row.clear_actions();
        if stage == Stage::Done {
            r.row.progress(r.transfer.size, r.transfer.size, text);
        } else {
            r.row.say(text);
        }
        self.page.log.step(&format!(
            "{} peer, “{}”: {text}",
            self.name, r.transfer.name
        ));
        self.page
            .files
            .announce(&format!("{}: {text}", r.transfer.name));
    }

    /// The channel closed, or the call ended: what was going stops, and nothing half-received
    /// stays.
    fn lost(&self, why: &str) {
        if let Some(sending) = self.sending.borrow_mut().as_mut() {
            let checking = sending.transfer.stage() == Stage::Checking;
            if !sending.transfer.stage().is_over() {
                sending.transfer.lost();
                let text = if checking {
                    format!(
                        "{why}: every byte was sent, but whether it arrived whole is not known."
                    )
                } else {
                    format!("{why}: it did not arrive.")
                };
                self.sent_over(sending, &text);
            }
        }
        if let Some(r) = self.receiving.borrow_mut().as_mut() {
            if !r.transfer.stage().is_over() {
                r.transfer.lost();
                self.received_over(r, &format!("{why}: nothing was kept."));
            }
        }
        self.wake_up();
    }

    /// Who is at the other end, at the start of a sentence.
    fn other_end(&self) -> String {
        if self.in_page {
            "The remote peer".to_owned()
        } else {
            self.other.borrow().clone()
        }
    }
}

impl Drop for End {
    fn drop(&mut self) {
        // The sending loop awaits a promise only this end settles: it sees the end gone.
        self.wake_up();
    }
}

impl Receiving {
    /// The whole file as one Blob, and the link that saves it.
    fn keep(&mut self) -> Result<String, Error> {
        self.fold();
        let file = match self.folded.take() {
            Some(blob) => Ok(blob),
            None => {
                let options = BlobPropertyBag::new();
                options.set_type("application/octet-stream");
                Blob::new_with_u8_array_sequence_and_options(&self.parts, &options)
            }
        };
        Ok(file.and_then(|blob| Url::create_object_url_with_blob(&blob))?)
    }

    /// The chunks so far, folded into one Blob the browser may keep on disk.
    fn fold(&mut self) {
        if let Some(folded) = self.folded.take() {
            self.parts.unshift(&folded);
        }
        let options = BlobPropertyBag::new();
        options.set_type("application/octet-stream");
        // If the browser cannot fold them, they stay pieces (the Blob folded before among them):
        // folding saves memory, the file is the same either way.
        if let Ok(blob) = Blob::new_with_u8_array_sequence_and_options(&self.parts, &options) {
            self.folded = Some(blob);
            self.parts = Array::new();
            self.unfolded = 0;
        }
    }
}

/// Sends the chunks of transfer `id` while the receiver wants them, pausing while the channel's
/// queue is full, then the end with the hash. Holds the end weakly: a call that ends stops it.
async fn pump(end: Weak<End>, id: u32) {
    let mut hasher = Sha256::new();
    // One read's worth of the file, and one message: the only wasm memory a file takes.
    let mut block = Vec::new();
    let mut message = Vec::new();
    loop {
        let Some(this) = end.upgrade() else {
            return;
        };
        let Some((offset, chunk, file, size)) = this.next_chunk(id) else {
            let done = this
                .sending
                .borrow()
                .as_ref()
                .is_some_and(|s| s.transfer.id == id && s.transfer.stage() == Stage::Moving);
            if done {
                this.all_sent(id, hasher.finalize().into());
            }
            return;
        };
        let until = (offset + chunk as u64 * READ_CHUNKS).min(size);
        let read = file
            .slice_with_f64_and_f64(offset as f64, until as f64)
            .map(|part| part.array_buffer());
        drop(this);
        let read = match read {
            Ok(promise) => JsFuture::from(promise).await,
            Err(e) => Err(e),
        };
        let Some(mut this) = end.upgrade() else {
            return;
        };
        let buffer = match read {
            Ok(buffer) => Uint8Array::new(&buffer),
            Err(e) => {
                let e = Error::in_step("Read the file", e.into());
                return this.send_failed(id, &format!("{e}. Nothing more was sent."));
            }
        };
        if buffer.length() as u64 != until - offset {
            // A file that changed on disk while it was read: what was sent is no longer it.
            return this.send_failed(
                id,
                "The file changed while it was being read. Nothing more was sent.",
            );
        }
        block.resize(buffer.length() as usize, 0);
        buffer.copy_to(&mut block);
        hasher.update(&block);
        let mut at = 0;
        while at < block.len() {
            while this.must_wait(id) {
                let waiting = this.wait();
                drop(this);
                let _ = JsFuture::from(waiting).await;
                this = match end.upgrade() {
                    Some(this) => this,
                    None => return,
                };
            }
            let Some((offset, len, ..)) = this.next_chunk(id) else {
                return;
            };
            let len = len.min(block.len() - at);
            message.clear();
            message.extend_from_slice(&Header { id, offset }.bytes());
            message.extend_from_slice(&block[at..at + len]);
            if let Err(e) = this.channel.send_with_u8_array(&message) {
                let e = Error::in_step("Send on the file channel", e.into());
                return this.send_failed(id, &format!("{e}. It did not arrive."));
            }
            this.chunk_sent(id, len);
            at += len;
        }
    }
}

/// The bar of a file going out follows what the receiver says it has.
fn show_sending(sending: &mut Sending, always: bool) {
    let at = now();
    if !always && at - sending.shown < SHOW_EVERY {
        return;
    }
    sending.shown = at;
    let (arrived, size) = (sending.transfer.arrived(), sending.transfer.size);
    sending.progress.read(at, arrived);
    let mut text = sending.progress.describe(arrived, size);
    if sending.transfer.stage() == Stage::Checking {
        text.push_str(" · all sent, the receiver is checking it");
    }
    sending.row.progress(arrived, size, &text);
}

fn show_receiving(r: &mut Receiving, always: bool) {
    let at = now();
    let (received, size) = (r.transfer.received(), r.transfer.size);
    if !always && at - r.shown < SHOW_EVERY && received < size {
        return;
    }
    r.shown = at;
    r.progress.read(at, received);
    r.row
        .progress(received, size, &r.progress.describe(received, size));
}

/// "85.3 Mbit/s on average"
fn average(bytes: u64, ms: f64) -> String {
    if ms <= 0.0 {
        return "at once".to_owned();
    }
    format!("{} on average", rate_text(bytes as f64 * 8_000.0 / ms))
}
