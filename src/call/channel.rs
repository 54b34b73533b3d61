//! The call's data channel: chat lines and pings between its two ends, shown on the page.
//!
//! In the page's own call both ends are here: the local peer sends, the remote one receives and
//! answers, and both sides show. In a room one end is here and the other on the other page.

use crate::chat::{self, Outbox, Wire};
use crate::error::Error;
use crate::page::log::now;
use crate::page::Page;
use gloo_events::EventListener;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use web_sys::{Element, MessageEvent, RtcDataChannel, RtcDataChannelState};

/// The channel's ends on this page; dropping it closes them.
pub struct Channels {
    shared: Rc<Shared>,
}

struct Shared {
    page: Rc<Page>,
    /// Both ends are in this page: one clock, so a line's one-way time can be read.
    in_page: bool,
    ends: RefCell<Vec<End>>,
    outbox: RefCell<Outbox>,
    /// The chat line shown for each line sent, to add its receipt to.
    lines: RefCell<HashMap<u32, (Element, String)>>,
    /// Sent times of the lines, for the receiving end in the same page.
    sent_at: RefCell<HashMap<u32, f64>>,
    /// Told when the sending end opens or closes: the chat controls follow.
    changed: Rc<dyn Fn()>,
    /// Who the other end is, on the chat lines it sends ("Them" in a call of two).
    speaker: RefCell<String>,
}

struct End {
    name: &'static str,
    channel: RtcDataChannel,
    /// The end that sends lines and pings (the other one answers).
    sends: bool,
    _listeners: [EventListener; 3],
}

impl Channels {
    pub fn new(page: Rc<Page>, in_page: bool, changed: Rc<dyn Fn()>) -> Self {
        Self {
            shared: Rc::new(Shared {
                page,
                in_page,
                ends: RefCell::default(),
                outbox: RefCell::default(),
                lines: RefCell::default(),
                sent_at: RefCell::default(),
                changed,
                speaker: RefCell::new("Them".to_owned()),
            }),
        }
    }

    /// Takes `channel` as the end of the peer `name`; `sends` if lines and pings go out from it.
    pub fn add(&self, name: &'static str, channel: RtcDataChannel, sends: bool) {
        let listen = |event: &'static str,
                      action: fn(&Rc<Shared>, &'static str, &web_sys::Event)| {
            let weak: Weak<Shared> = Rc::downgrade(&self.shared);
            EventListener::new(&channel, event, move |e| {
                if let Some(shared) = weak.upgrade() {
                    action(&shared, name, e);
                }
            })
        };
        let listeners = [
            listen("open", |s, name, _| s.opened(name, true)),
            listen("close", |s, name, _| s.opened(name, false)),
            listen("message", |s, name, e| {
                let Some(data) = e.dyn_ref::<MessageEvent>().map(MessageEvent::data) else {
                    return;
                };
                // Measured before it is copied into wasm memory: a line is at most 4 KiB, and
                // the other end may send a text of a GiB.
                let length = data
                    .dyn_ref::<js_sys::JsString>()
                    .map(|t| t.length() as usize);
                if length.is_some_and(|n| n > chat::MAX_TEXT + 16) {
                    return s.received(name, "");
                }
                if let Some(text) = data.as_string() {
                    s.received(name, &text);
                }
            }),
        ];
        self.shared.ends.borrow_mut().push(End {
            name,
            channel,
            sends,
            _listeners: listeners,
        });
    }

    /// Names the other end on the lines it sends, and on the round trips to it.
    pub fn set_speaker(&self, speaker: &str) {
        if *self.shared.speaker.borrow() != speaker {
            *self.shared.speaker.borrow_mut() = speaker.to_owned();
        }
    }

    /// Sends a chat line that another call of the group shows: the same words to one more
    /// person, without a line of its own.
    pub fn send_text_unshown(&self, text: &str) {
        let shared = &self.shared;
        let Some(sender) = shared.sender() else {
            return;
        };
        let wire = shared.outbox.borrow_mut().text(text, now());
        if let Ok(wire) = wire {
            shared.send(sender, &wire);
        }
    }

    /// Whether a line or a ping can go out now.
    pub fn is_open(&self) -> bool {
        self.shared.sender().is_some()
    }

    /// Sends a chat line; `Err` says why it cannot go as it is.
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        let shared = &self.shared;
        let sender = shared.sender().ok_or(Error::ChatRefused(
            "The data channel is not open yet: wait until the call is connected.".to_owned(),
        ))?;
        let at = now();
        let wire = shared.outbox.borrow_mut().text(text, at).map_err(|why| {
            Error::ChatRefused(match why {
                chat::Unsendable::Empty => "Type a message first.".to_owned(),
                chat::Unsendable::TooLong(n) => format!(
                    "That message is {n} bytes long: the chat sends at most {} bytes at once.",
                    chat::MAX_TEXT
                ),
            })
        })?;
        let Wire::Text { id, text } = &wire else {
            return Ok(());
        };
        let line = if shared.in_page {
            format!("{sender} peer sent “{text}”")
        } else {
            format!("You: {text}")
        };
        if let Some(element) = shared.page.tools.chat_line(&line) {
            shared.lines.borrow_mut().insert(*id, (element, line));
        }
        shared.sent_at.borrow_mut().insert(*id, at);
        shared.send(sender, &wire);
        Ok(())
    }

    /// Sends a ping; the pong shows the channel's round-trip time.
    pub fn ping(&self) {
        let shared = &self.shared;
        if let Some(sender) = shared.sender() {
            let wire = shared.outbox.borrow_mut().ping(now());
            shared.send(sender, &wire);
        }
    }
}

impl Drop for Channels {
    fn drop(&mut self) {
        for end in self.shared.ends.take() {
            end.channel.close();
        }
    }
}

impl Shared {
    /// The name of the open end that sends.
    fn sender(&self) -> Option<&'static str> {
        self.ends
            .borrow()
            .iter()
            .find(|e| e.sends && e.channel.ready_state() == RtcDataChannelState::Open)
            .map(|e| e.name)
    }

    fn send(&self, name: &str, wire: &Wire) {
        let ends = self.ends.borrow();
        let Some(end) = ends.iter().find(|e| e.name == name) else {
            return;
        };
        if let Err(e) = end.channel.send_with_str(&wire.encode()) {
            let e = Error::in_step("Send on the data channel", e.into());
            self.page.log.step(&format!("{name} peer: {e}"));
        }
    }

    fn opened(&self, name: &str, open: bool) {
        self.page.log.step(&format!(
            "{name} peer's data channel: {}",
            if open { "open" } else { "closed" }
        ));
        (self.changed)();
    }

    fn received(&self, name: &'static str, message: &str) {
        let Some(wire) = Wire::decode(message) else {
            self.page.log.step(&format!(
                "{name} peer ignored a data channel message it does not know"
            ));
            return;
        };
        let at = now();
        match &wire {
            Wire::Text { id, text } => {
                let line = match self.sent_at.borrow().get(id).filter(|_| self.in_page) {
                    Some(sent) => format!(
                        "{name} peer received “{text}” after {}",
                        ms((at - sent).max(0.0))
                    ),
                    None => format!("{}: {text}", self.speaker.borrow()),
                };
                self.page.tools.chat_line(&line);
            }
            Wire::Delivered { id } => {
                if let Some(took) = self.outbox.borrow_mut().answered(&wire, at) {
                    if let Some((element, line)) = self.lines.borrow_mut().remove(id) {
                        element.set_text_content(Some(&format!(
                            "{line} · delivered, receipt after {}",
                            ms(took)
                        )));
                    }
                    self.sent_at.borrow_mut().remove(id);
                }
            }
            Wire::Pong { .. } => {
                if let Some(took) = self.outbox.borrow_mut().answered(&wire, at) {
                    let speaker = self.speaker.borrow();
                    let text = if *speaker == "Them" {
                        format!("Round trip over the data channel: {}", ms(took))
                    } else {
                        format!(
                            "Round trip to {speaker} over the data channel: {}",
                            ms(took)
                        )
                    };
                    self.page.tools.show_ping(&speaker, &text);
                }
            }
            Wire::Ping { .. } => {}
        }
        if let Some(reply) = chat::reply(&wire) {
            self.send(name, &reply);
        }
    }
}

/// "1.3 ms": a tenth of a millisecond is what a data channel round trip shows on one machine.
fn ms(value: f64) -> String {
    let tenths = (value * 10.0).round() as u64;
    format!("{}.{} ms", tenths / 10, tenths % 10)
}
