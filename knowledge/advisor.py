"""The answer a patient gets for one message: triage first, then scope, small talk, the matcher.

``Advisor.ask(text, day)`` returns an ``Advice``: the full reply text, the topic it answered (or
None when it abstained or only suggested), the calibrated confidence, and whether staff must be
alerted. It knows nothing about Telegram or databases, so the bot, the terminal demo, the
``aftercare ask`` command and the tests all share it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from knowledge.catalogue import Catalogue
from knowledge.catalogue import Clinic as Clinic  # re-exported: callers name it with the advisor
from knowledge.detectors import DEFAULT_DETECTOR, Detector, load_detectors
from knowledge.guards import ScopeGuard, load_scope, smalltalk_kind
from knowledge.language import Detection
from knowledge.language_topics import LanguageTopics, load_language_topics
from knowledge.loader import load_kb
from knowledge.matcher import Matcher, MatchResult
from knowledge.multilingual import Multilingual, Reading
from knowledge.schema import Entry, KnowledgeBase
from knowledge.signdata import FollowUpQuestion, SignData, load_sign_data
from knowledge.text import (
    CHAT_PLURAL,
    FILLER,
    SHORTHAND,
    STOPWORDS,
    SYNONYMS,
    answer_words,
    english_words,
    fold,
    looks_like_gibberish,
)
from knowledge.timewords import Ahead, days_ahead
from knowledge.triage import EMERGENCY, URGENT, Triage, TriageDecision, load_triage
from knowledge.triage.prefilter import AnyOf
from knowledge.warning_questions import WarningQuestions, load_warning_questions

PACKAGED_MESSAGES = Path(__file__).parent / "messages.yaml"
Kind = Literal["answered", "suggested", "abstained", "escalated", "smalltalk", "foreign"]
_TIER_RANK = {"emergency": 0, "urgent": 1}
UNSURE_LANGUAGE = 0.9  # below this detection confidence, and
ENGLISH_SHARE = 0.6  # with this share of English words (typos counted), an English red flag stands
GUESSED_LANGUAGE = 0.4  # below this detection confidence the language is a guess, and
HALF_ENGLISH = 0.5  # a message this English (chat restored) is read as English when it has
GUESSED_WORDS = 3  # at most this many words of three letters or more
PLAIN_ENGLISH_SHARE = 0.8  # a message this English is read by another lexicon only as written
ALL_ENGLISH_SHARE = 1.0  # every word English: an English red flag is answered in English
FOREIGN_WORD = 5  # a written word this long that a language's lexicon reads as its own
# the KB entry whose answer for the day goes with a rule-out question
DAY_GUIDANCE = "normal_course"
# the KB entry that answers a red flag only asked about or told as a story
WARNING_SIGNS = "warning_signs"
LANGUAGE_MARK = "@"
_HELP = r"(999|911|112|ambulance|a and e|a ?e|hospital|emergency( number)?|the emergency)"
_US = r"(clinic|you|u|you guys|u guys|u lot|you lot|the nurses?|the team)"
_WAIT = (r"(wait|waiting|leave it|leaving it|chill|see how|my check ?in|the check ?in|"
         r"(ride|riding|sit|sitting|tough|toughing|wait|waiting) it out|put(ting)? up with it|"
         r"hold(ing)? (on|off)|sit(ting)? tight)")
_IF = r"(what if|if|suppose|supposing|say|imagine|hypothetically|would|were)"
# a doctor or the emergency department named as the other place to turn
_DOCTOR = (r"((a|my|the|your) )?(doctor|gp|dr|hospital|a and e|a ?e|999|111|ambulance|"
           r"urgent care|walk ?in( centre)?)")
_JUDGE = (r"(problem|issue|an issue|a concern|concerning|concerned|worry|worrying|worried|bad|"
          r"serious|dangerous|wrong|mean|means|a sign|alarmed|alarming)")
_SIGN_WORD = (r"(red|pink|swollen|puffy|sore|bruised|itchy|tender|raw|hot|warm|burning|flaky|"
              r"peeling|bumpy|blotchy|lumpy|painful)")
_SIGN_NOUN = (r"(redness|swelling|puffiness|soreness|pain|bruising|bruises?|itching|itch|rash|"
              r"spots|bumps|lumps|tenderness)")
# other topics a "what should i watch/check ..." may be about (the sun, makeup, the gym)
_TOPICS = (r"(sun|sunscreen|suncream|spf|makeup|make up|gym|exercise|workout|alcohol|drink|"
           r"drinking|swim|swimming|sauna|products?|skincare|retinol|moisturiser|cleanser|"
           r"shower|sleep|pillow|diet|food|eat)")
_BAD = (r"(abnormal|dangerous|serious|an emergency|a problem|a concern|a worry|worrying|"
        r"not normal|too much|too many|too long)")
_HOW = r"(bad|red|high|hot|big|swollen|puffy|painful|sore|long|much|many|far|quickly)"
_CALL = (r"(call|ring|phone|message|contact|tell|let (you|u|them|the clinic) know|worry|get help|"
         r"seek help|see (a|the) (doctor|gp|nurse)|get in touch|reach out|get hold of|msg|text|"
         r"email|drop (you|u) a (line|message|msg)|"
         # (the -ing forms: "wait how many days before phoning")
         # (answers round on batch 23: "telephone somebody", formal)
         r"telephone|telephoning|calling|ringing|phoning|messaging|contacting|texting|emailing|"
         r"getting in touch|"
         r"reaching out|getting hold of|letting (you|u|them|the clinic) know|seeking help)")
# something looking off, told in a conditional ("if it doesnt look right", "if its lookin bad")
_OFF = (r"(off|wrong|not right|(doesnt|dont|does not|do not|isnt|is not|arent|are not)( \w+)? "
        r"right|weird|odd|strange|funny|worse|bad|rough|dodgy|iffy|not good)")
_SOMETHING = (r"(something|anything|it|its|things?|stuff|sumthin|sumthing|somethin|somthing|"
              r"smthing|smthn|smth|sth|anythin|anyfing|somefing|summat)")
_NOT_BOOKING = r"^(?!.*\b(book|booking|rebook|appointment|appt|next session|reschedule)\b)"
# where a message's sentences end, and what keeps a message whole (its sentences are read one by
# one only when none of them is about booking, opening hours or how to reach the clinic)
_SENTENCE_BREAK = re.compile(r"[.!?\n]+")
_ELSEWHERE = re.compile(r"\b(book|booking|rebook|appointment|appt|next session|reschedule|open|"
                        r"opening|hours|number|email address|best way|address)\b")
# when to get help asked as a choice, or which of one sign would be abnormal (folded text)
_WHEN_TO_GET_HELP_SOURCES = (
    rf"\b{_US}\b.{{0,40}}\b(or|rather than|instead of|vs|versus)\b.{{0,30}}\b({_HELP}|{_WAIT})\b",
    rf"\b{_HELP}\b.{{0,40}}\b(or|rather than|instead of|vs|versus)\b.{{0,30}}\b{_US}\b",
    r"\b(call|ring|phone|contact|message|tell|let|get in touch|reach out|text|email)\b.{0,40}"
    r"\b(rather than|instead of|vs|versus|or) "
    rf"(just )?{_WAIT}\b",
    r"\bsame ?day\b.{0,60}\b(wait|check ?in|follow ?up)\b",
    r"\b(stop|stopping) (putting|thinking|assuming|treating)\b.{0,60}\bnormal\b",
    r"\b(would|could|might) (mean|tell me|show|suggest|signal)( that)? (something|it|healing|"
    r"things)\b.{0,30}\b(wrong|not right|isnt|is not|problem)\b",
    rf"\b(count|counts|counted|class|classed) as {_BAD}\b",
    rf"\bwould (be|count as|mean) {_BAD}\b",
    # how much is too much, how bad it has to get, how long to give it before calling
    r"\bhow (much|many)\b.{0,40}\b(is|are|would be|counts? as) too (much|many)\b",
    # (not a booking: "how long should i wait before i call to book the next one")
    r"^(?!.*\b(book|booking|appointment|appt|next session|reschedule|photos?|pictures?|pics|"
    r"results?|review|check ?up|follow ?up)\b)"
    rf".*\bhow {_HOW}\b.{{0,50}}\b(too {_HOW}|(has|have|need|needs) to (get|be)\b.{{0,30}}"
    rf"\b(before|until|till)|(before|until|till)\b.{{0,30}}\b({_CALL}|{_HELP}))\b",
    rf"\bat what point\b.{{0,60}}\b({_CALL}|{_HELP})\b",
    # how to tell a problem from normal healing, what would show it had turned into one
    r"\bhow (do|can|would|will|could|to) (you|i|u|we|one|people)? ?"
    r"(tell|know|kno|spot|see|recognise)\b"
    r".{0,60}\b(a problem|problems|wrong|infect\w*|not right|reaction|not normal|abnormal)\b",
    r"\b(signs?|symptoms?)\b.{0,40}\b(would|could|might|will) (tell|show|mean)\b",
    r"\b(turned|turning|turns|gone|went|going|go) (in)?to (an? )?"
    r"(infection|problem|something (worse|serious|bad))\b",
    r"\b(signs?|symptoms?)\b.{0,40}\b(gone|going|go|went|goes|gets|got) (badly )?wrong\b",
    # a threshold: bad enough to call, worth a call, when to call if something looks off
    rf"\b(bad|serious|severe|worrying|concerning|urgent|major) enough (to|for|that)\b.{{0,20}}"
    rf"\b({_CALL}|{_HELP})\b",
    r"^(?!.*\b(book|booking|rebook|appointment|appt|next session|reschedule)\b)"
    r".*\b(when|what point|which point|what stage|which stage|is it|would it be)\b"
    r".{0,30}\bworth (a |an )?(call\w*|ring\w*|phon\w*|messag\w*|contact\w*|text\w*|email\w*|"
    r"tell\w*|letting|bother\w*|getting in touch|reaching out|giving (you|u|the clinic|them) a "
    r"(call|ring|bell|message))\b",
    rf"{_NOT_BOOKING}.*\bwhen (do|should|would|must|shall|can) (i|we)( need to| have to)? "
    rf"{_CALL}\b.{{0,40}}\bif {_SOMETHING}\b.{{0,25}}\b{_OFF}\b",
    #   (the condition first, with a time frame: "if anything seems off over the bank holiday,
    #   when do i get in touch?")
    rf"{_NOT_BOOKING}.*\bif {_SOMETHING}\b.{{0,25}}\b{_OFF}\b.{{0,40}}\bwhen (do|should|would|"
    rf"must|shall|can) (i|we)( need to| have to)? {_CALL}\b",
    # which signs mean a call, the same day or the emergency department ("what signs would mean
    # phoning the clinic today?", "signs that mean going to a and e")
    r"\b(signs?|symptoms?)\b( that| which)? (mean|means|would mean|need|needs|require|requires|"
    r"warrant|warrants)( that)?( i| we| you)?( should| need to| have to| must| would need to)?"
    rf"( \w+)?( \w+)? ({_CALL}|go( to| 2)? (the )?{_HELP}|(a )?same ?day)\b",
    # which symptoms would not be normal ("which of the side effects would not be normal?"), not
    # normal set against not normal (the normal course's)
    r"^(?!.*\bnormal (and|or|vs|versus)\b)(?!.*\b(whats|what is) normal\b).*\b(which|what)\b"
    r".{0,40}\b(symptoms?|signs?|side effects?|effects?|reactions?|changes?)\b.{0,40}"
    r"\b(are not|arent|is not|isnt|would not be|wouldnt be|wont be|will not be|not) "
    r"(normal|expected|usual|typical)\b",
    # a bad reaction set against skin only sensitive ("what would a nasty reaction look like,
    # versus skin that is only sensitive?")
    r"^(?=.*\b(what|which|how|signs?|symptoms?|tell|difference|know|look)\b).*"
    r"\b(bad|nasty|allergic|serious|proper|adverse|real|severe|worrying) (reaction|infection)\b"
    r".{0,60}\b(as opposed to|versus|vs|compared (to|with)|rather than|instead of)\b.{0,40}"
    r"\b(sensitive|sensitivity|irritat\w*|normal|ordinary|usual|expected)\b",
    rf"\bwhen\b.{{0,30}}\b{_CALL}\b.{{0,40}}\b(and|or) when\b.{{0,30}}\b{_WAIT}\b",
    # answers round on batches 27 and 28: when the clinic and when the emergency department or
    # a doctor, in either order ("when do i phone you and when do i head to a&e?", "when should
    # my gp get involved rather than just texting you?")
    rf"\bwhen\b.{{0,30}}\b{_CALL}\b.{{0,40}}\b(and|or) when\b.{{0,40}}"
    rf"\b({_HELP}|{_DOCTOR})\b",
    rf"\bwhen\b.{{0,30}}\b({_HELP}|{_DOCTOR})\b.{{0,40}}\b(and|or) when\b.{{0,40}}"
    rf"\b({_CALL}|{_US})\b",
    rf"{_NOT_BOOKING}.*\bwhen\b.{{0,40}}\b{_DOCTOR}\b.{{0,40}}"
    rf"\b(instead of|rather than|or|vs|versus)\b.{{0,30}}\b({_CALL}|{_US}|on here)\b",
    # ... when the clinic would want a photo or a call ("when would the nurses like a ring or
    # a picture of my cheeks from me?"; not photos of results, nor booking)
    rf"{_NOT_BOOKING}(?!.*\b(results?|progress|before and after|review|check ?up|follow ?up)\b)"
    r".*\bwhen (would|do|will|should|might) (you|u|the clinic|the team|they|the nurses?)"
    r"( guys| lot)? "
    r"(want|like|need|expect|prefer) (me|us) to\b.{0,30}\b(send|ring|call|phone|contact|message|"
    r"text|email|get in touch|come (back )?in)\b",
    # ... who to contact if worried about the skin, at night or at any hour ("if i was worried
    # about my face at 3am, who do i contact?"); not the clinic's number or hours asked alone
    r"\bif (i|we) (got|get|was|were|am|feel|felt|became|become|start\w*|ever)( \w+)? (worried|"
    r"concerned|anxious|scared|panicky|panicked|unsure|nervous|frightened)\b.{0,60}\bwho "
    rf"(would|do|should|shall|must|can|could) (i|we)( \w+)? ({_CALL}|turn to|speak to|talk to|"
    r"go to)\b",
    # a sign late or back, asked about ("if i'm still red after a week, would that be a
    # problem?", "say it fades and comes back, what would that mean?"); a report of one is triage's
    rf"^(?=.*\b{_IF}\b)(?=.*\b{_JUDGE}\b).*(\bstill\b( \w+){{0,3}} {_SIGN_WORD}\b.{{0,20}}"
    r"\b(after|past|beyond|by|on|at|for|in) (day \w+|\w+ (days?|weeks?)|a (week|fortnight))\b"
    rf"|\b{_SIGN_NOUN}\b( \w+){{0,2}} (is |are )?still\b.{{0,25}}"
    r"\b(after|past|beyond|by|on|at|for|in) (day \w+|\w+ (days?|weeks?)|a (week|fortnight))\b"
    rf"|\b{_SIGN_NOUN}\b( \w+){{0,3}} (hasnt|has not|havent|doesnt|does not|isnt|is not) "
    r"(gone|settled|faded|calmed|cleared|improved|eased)\b"
    r"|\b(fades?|faded|fading|goes|went|gone|settles?|settled|calms?|calmed|clears?|cleared|"
    r"disappears?|disappeared|eases?|eased)\b.{0,30}\b((comes?|came|coming) back|returns?|returned|"
    r"returning|reappears?|reappeared|flares? (up|back)|flared (up|back))\b)",
    # a sign growing instead of settling, asked about ("if the puffiness is worse on day 2
    # rather than better, is that bad?")
    rf"^(?=.*\b{_IF}\b)(?=.*\b{_JUDGE}\b)(?=.*\b({_SIGN_WORD}|{_SIGN_NOUN}|redder|puffier|sorer|"
    r"worse)\b).*\b(more|worse|redder|puffier|sorer|hotter|bigger|angrier|increas\w*|spread\w*|"
    r"grow\w*)\b.{0,40}\b(instead of|rather than|and not|not)( getting| going| becoming)? (less|"
    r"better|calmer|down|easing|improving|settling|smaller|fading|calming|healing)\b",
    # a smell or an ooze beginning, asked about ("would it be a worry if it began to smell?")
    rf"^(?=.*\b{_IF}\b)(?=.*\b{_JUDGE}\b).*\b(it|skin|face|area|spots?|scabs?|cheeks?|chin|"
    r"forehead|bits?)( \w+)? (start\w*|began|begin\w*|gets?|got|went|goes|going)( to)? (smell\w*|"
    r"ooz\w*|weep\w*|leak\w*|stink\w*|discharg\w*)\b",
    # what to watch for over the next days, asked in general ("which complications should i look
    # out for", "what should she keep an eye on over the coming days")
    r"^(?!.*\b(working|worked|work|works|results?|improv\w*|better)\b)"
    r".*\b(complications?|problems?|warning signs|red flags|signs?|symptoms?)\b"
    #   (of the sign just told: "what first signs of it do i need to watch for")
    r"( (of|for) (that|it|this|those|these|them))?"
    r"( (should|do|must|would|shall) (i|we|you|she|he|they)( need to| have to)?| to| i should|"
    r" i need to)( be)? "
    r"(watch\w*|look\w* out|keep\w* an eye|keep\w* watch|monitor\w*|be on the lookout|"
    r"(be )?(alert|wary|vigilant|watchful) (to|of|for)|look\w* for)\b",
    rf"^(?!.*\b{_TOPICS}\b).*\bwhat (should|do|does|must|would|shall|will) (i|she|he|they|we|you)"
    r"( need to| have to)?( be)? (keep\w* (an eye|watch|a lookout)|watch\w*|look\w* out|"
    r"monitor\w*|check\w* for)\b.{0,25}\b((over|in|during|for) the "
    r"(next|coming|first|following) (few |couple of |\w+ )?(days?|week|weeks|hours|nights)"
    r"|(in )?the days after|after (it|this|the treatment|the session|(her|his|their|my) "
    r"(session|treatment)|treatment|microneedling|needling|hers|his))\b",
    # what is not normal after the treatment, asked with no sign named ("whats NOT normal after
    # dermapen", "what would be abnormal following the session"; answers round on batch 26); not
    # another topic ("whats not ok after microneedling, the gym?")
    rf"^(?!.*\b{_TOPICS}\b){_NOT_BOOKING}.*\bwhat(s| is| would be| could be| will be)? "
    r"(((is )?not|isnt|wouldnt be|would not be) (normal|usual|expected|ok|okay|right)|abnormal|"
    r"unusual) (after|following|post|with|from|during)\b",
    # ... and asked with the worry of panicking over nothing ("whats normal and whats not, i
    # dont want to fret for no reason"; answers round on batches 27 and 28)
    r"^(?=.*\b(panic\w*|worr(y|ying|ied)|freak\w* out|overreact\w*|fret\w*|paranoid|alarmed|"
    r"(for|over) nothing)\b).*\b(whats|what is) normal and (whats|what is|what)( \w+)? (not|isnt|"
    r"abnormal)\b",
    # what is normal and what is not, asked after someone else's story of this treatment
    r"^(?=.*\b(her|his|their|hers|theirs|she|he|they)\b)(?!.*\b(dentist|dental|jabs?|vaccin\w*|"
    r"surgery|operation|tattoo|piercing|wax\w*)\b).*\b(whats|what is) normal and "
    r"(whats|what is|what)( \w+)? (not|isnt|abnormal)\b",
    # when to get in touch asked plainly: about the skin or after the treatment, or when one
    # would need to ("when should i message you about my face?", "when would i have to ring
    # the clinic?"); not opening hours, the number or booking ("when can i call you")
    rf"{_NOT_BOOKING}(?!.*\b(open|opening|hours|number|email address|best way)\b).*\bwhen "
    r"(do|should|would|must|shall|will|might) (i|we)( ever| actually| really)?( need to| have to|"
    rf" ought to)? {_CALL}( with)?( you| u| the clinic| the (doctor|nurse|practitioner|team|gp)|"
    r" them| someone| anyone| a doctor)?( guys)? (about (my|the|this) (skin|face|treatment|"
    r"recovery|healing|cheeks?|area|symptoms?|reaction)|after (the|my|this) (treatment|session|"
    r"procedure|needling|microneedling))\b",
    rf"{_NOT_BOOKING}.*\bwhen (do|would|will|might) (i|we)( ever)? (need|have) to {_CALL}"
    r"( you| u| the clinic| the (doctor|nurse|practitioner|team)| them)?( guys)?$",
    # in which situations, cases or circumstances to call ("under what circumstances should i
    # phone the nurse?"; a skin condition to mention is suitability's)
    rf"{_NOT_BOOKING}.*\b(which|what) (situations?|cases|circumstances?|instances|scenarios?)\b"
    rf".{{0,40}}\b({_CALL}|{_HELP}|come (back )?in|be seen)\b",
    rf"{_NOT_BOOKING}.*\b(in|under) (which|what) (case|situation|circumstance) (do|should|must|"
    rf"would|shall) (i|we)\b.{{0,30}}\b({_CALL}|{_HELP})\b",
    # what would have the clinic want to see me again ("what would mean they need to check me
    # over?"), not another session
    rf"{_NOT_BOOKING}(?!.*\b(another|next|more|extra|top up|follow up|second|third) (session|"
    r"treatment|course|appointment)s?\b).*\bwhat (would|could|might|will|should)( \w+)? (make|"
    r"mean|need|require|warrant|prompt)\b.{0,40}\b(come (back )?in|come back|be (seen|checked|"
    r"looked at|examined)|see me|check me|look at (me|it|my \w+)|have a look)\b",
    # which effects are serious and which only healing, in either order ("which reactions are a
    # worry and which are just the skin healing?")
    r"^(?=.*\b(which|what|how)\b)(?!.*\b(products?|ingredients?|foods?|exercises?|activities|"
    r"serums?|creams?|things to (do|use|eat|avoid))\b)(?=.*\b(symptoms?|signs?|side effects?|"
    r"effects?|reactions?|changes?)\b).*\b(serious|dangerous|bad|worrying|concerning|"
    r"a concern|a worry|a problem|alarming|abnormal|not normal)( ones?)?\b.{0,30}"
    r"\b(and|or|vs|versus|from)\b "
    r"(which|what|whats|the ones|those)( ones?)?( \w+)?( are| is)?\b.{0,30}\b(healing|heal|"
    r"recovery|recovering|getting better|normal|expected|harmless|fine|nothing to worry)\b",
    r"^(?=.*\b(which|what)\b)(?=.*\b(symptoms?|signs?|side effects?|effects?|reactions?|"
    r"changes?)\b).*\b(healing|heal|recovery|normal|expected|harmless|fine)\b.{0,30}"
    r"\b(and|or|vs|versus)\b (which|what|whats|the ones|those)( ones?)?( \w+)?( are| is)? "
    r"(serious|dangerous|worrying|concerning|a concern|a worry|a problem|alarming|bad)\b",
    # redness spreading or red streaks, asked about with how serious or how bad ("if the pink
    # area started creeping outwards, how worried should i be?"; a spreading redness that is
    # only "bad" keeps the redness entry, which says when to call); red streaks or lines
    # with any judgement; a report is triage's
    rf"^(?=.*\b{_IF}\b)(?=.*\bhow (serious|bad|worried|concerned|worrying|dangerous|urgent|"
    r"alarming)\b).*(\bred (streaks?|lines?|tracks?|trails?)\b|\bstreak\w*\b|"
    r"\b(redness|swelling|rash|pinkness|it|red|area|patch|patches)( \w+){0,3} (spread\w*|creep\w*|"
    r"widen\w*|extend\w*|travel\w*|(gets?|getting|got|gone|goes|going) (wider|bigger|larger)|"
    r"mov\w* out\w*)\b|\b(redness|swelling|rash|pinkness|red area|pink area|patch|patches)"
    r"( \w+){0,3} grow\w*\b)",
    rf"^(?=.*\b{_IF}\b)(?=.*\b({_JUDGE}|worry)\b).*\b(red (streaks?|lines?|tracks?|trails?)|"
    r"streaks?|streaky)\b",
    # pus told in chat spelling ("pussy", "pusy": full of pus), asked about with a judgement
    rf"^(?=.*\b{_IF}\b)(?=.*\b({_JUDGE}|worry|ok|okay|normal)\b)(?!.*\bpussy ?cats?\b).*"
    r"\b(pussy|pusy|pusey|pussey|pusie|pussie|puss)\b",
    # answers round on batch 21: which symptoms are considered dangerous, which signs to
    # observe or pay attention to (formal English); not products, foods or activities
    r"^(?!.*\b(products?|ingredients?|foods?|exercises?|activities|serums?|creams?)\b)"
    r".*\b(which|what)\b( \w+){0,3} (symptoms?|signs?|side effects?|reactions?|changes?|effects?)"
    r"\b.{0,50}\b(considered|regarded|seen|deemed|classed|classified|counted|viewed)( as)?"
    r"( \w+)? (dangerous|serious|alarming|abnormal|worrying|concerning|an emergency|a problem|"
    r"a concern|problematic|severe|urgent|not normal|critical|risky)\b",
    rf"^(?!.*\b{_TOPICS}\b).*\b(which|what)( \w+)? (signs?|symptoms?|changes?|reactions?)\b"
    r"( \w+){0,3} (observe|pay (close |special |particular )?attention to|attend to|"
    r"take note of|be attentive to|be aware of|be vigilant (about|for))\b",
    # what the early signs look like, which are the first signs (not of healing or results)
    r"^(?!.*\b(heal\w*|results?|working|improv\w*|better|collagen)\b).*\b(what|which) (do|does|"
    r"would|will|are|r|might)( the)? (early|first|earliest|initial) (warning )?(signs?|symptoms?)"
    r"\b",
    # how to know when a sign is too much ("how do i know when the puffiness is too much?")
    rf"\bhow (do|would|will|can|could) (i|you|we) (know|tell)\b.{{0,10}}\b(when|if)\b( \w+){{0,3}}"
    rf" ({_SIGN_NOUN}|puffiness|it|its|my (face|skin))( \w+)? (is|gets|has got|becomes|goes)"
    r"( \w+)? too (much|far|long|bad|big|swollen|red|puffy)\b",
    # a threshold of time asked: at what point or when it stops being normal ("when does it
    # stop being normal?", "at what stage is that not normal any more?")
    r"\b(at what|at which|what|which) (point|stage|day|time)\b.{0,30}\b(not normal|abnormal|"
    r"no longer normal|stops? being normal|not ok|not okay|a problem|a concern|worrying)\b",
    r"\bwhen (does|would|will|do|should) (it|this|that|the \w+|they)( \w+)? (stop|stops|cease|"
    r"ceases) being (normal|ok|okay|expected)\b",
    r"\bwhen (is|would|will) (it|this|that|the \w+)( \w+)? (be )?no longer (normal|ok|okay|"
    r"expected)\b",
    # a sign back later, asked about ("if the little dots of blood show up again in a few days,
    # would that be a problem?"); using a product or doing something again is not
    rf"^(?=.*\b{_IF}\b)(?=.*\b({_JUDGE}|issue|an issue)\b)(?!.*\b{_TOPICS}\b).*"
    r"\b(bleed\w*|blood|red|redness|swell\w*|swollen|puff\w*|lumps?|bumps?|spots?|rash|weep\w*|"
    r"ooz\w*|sore|hot|hurt\w*|pain\w*)\b.{0,40}\bagain\b",
    # a sign asked about for tomorrow or later, or two at once ("say my cheeks turn sore and
    # hot later, is that a worry?")
    rf"^(?=.*\b(what if|if|suppose|supposing|say|imagine)\b)(?=.*\b({_JUDGE}|issue|an issue)\b)"
    r".*\b(face|skin|cheeks?|it|forehead|chin|nose|area|eyes?)( \w+)? (goes|go|gets|get|turns|"
    r"turn|becomes|become|went|got|is|was|were)( \w+){0,2} "
    rf"(({_SIGN_WORD}|burny|stingy)\b.{{0,30}}\b(tomorrow|tonight|later|l8r|next week|in a few "
    rf"days|over the weekend|at the weekend|this week)|{_SIGN_WORD} (and|or) ({_SIGN_WORD}|burny|"
    r"stingy|burning|stinging))\b",
    # what to do if an eye or the sight is hurt ("what do i do if my vision goes fuzzy?")
    r"\bwhat (should|do|would|must|shall|am) i( meant to| supposed to)? do if (my|an?|one of my|"
    r"the|either)( \w+)? (eyes?|eyelids?|vision|sight)\b",
    # what to look out for, asked bare ("what should i be looking out for after?")
    rf"^(?!.*\b{_TOPICS}\b).*\bwhat (should|do|must|shall|would) (i|we)( need to| have to)?"
    r"( be)? (look\w* out|watch\w*( out)?|keep\w* an eye out) (for|4)( after(wards)?| tomorrow|"
    r" tonight| this week)?$",
    # a rule for when to stop waiting and get in touch ("at which point do i quit waiting and
    # ring you?")
    rf"{_NOT_BOOKING}.*\b(stop|stops|quit|give up|stopping|quitting) (waiting|holding off|"
    rf"holding on|sitting tight|watching it)\b.{{0,40}}\b({_CALL}|{_HELP})\b",
    # which day to get in touch if a sign has not gone ("by which day should i call you if the
    # redness has not gone?")
    rf"{_NOT_BOOKING}(?!.*\b(photos?|pictures?|pics|results?|review)\b)(?=.*\b{_CALL}\b)"
    r"(?=.*\b(which|what|certain|particular|specific|set) (day|date)\b)"
    r".*\b(redness|red|pink|pinkness|swelling|swollen|puffy|puffiness|bruis\w*)\b",
    # a sign still there by a later day, asked whether that is the point to call ("say im still
    # swollen by day 4, is that the time to ring?")
    rf"^(?=.*\b{_IF}\b)(?=.*\b(point|when|time|day|stage|moment)\b.{{0,20}}\b{_CALL}\b)"
    rf".*(\bstill\b( \w+){{0,3}} {_SIGN_WORD}\b|\b{_SIGN_NOUN}\b( \w+){{0,2}} (is |are )?still\b)"
    r".{0,20}\b(after|past|beyond|by|on|at|for|in) (day \w+|\w+ (days?|weeks?)|"
    r"a (week|fortnight))\b",
    # a sign imagined that would not stop or settle, told with how it came about ("what if a
    # spot started bleeding and didnt stop, like if i caught it on a towel?")
    rf"^(?=.*\b{_IF}\b)(?!.*\b(products?|creams?|serums?|makeup|make up)\b).*"
    r"\b(bleed\w*|bled|blood|swell\w*|swollen|puff\w*|red|redness|pain\w*|hurt\w*|throb\w*|"
    r"ooz\w*|weep\w*)\b.{0,30}\b(wouldnt|didnt|doesnt|wont|would not|did not|does not|will not|"
    r"never|couldnt|could not|cant) (stop|go down|go away|settle|ease|calm down)\b",
    # when a sign is (actually) a problem ("when is bruising really a worry after this?")
    rf"{_NOT_BOOKING}.*\bwhen (is|are|does|do|would) ({_SIGN_NOUN}|bleeding|blood|puffiness)"
    r"( \w+)?( actually| really| ever)? (a problem|a worry|a concern|"
    r"an issue|dangerous|serious|worrying|concerning|not normal|abnormal|a red flag)\b",
    # when to get in touch asked bare ("when should i ring you?", "when do i get in touch?";
    # not "when can i call": the opening hours)
    r"^when (should|do|would|must|shall) (i|we)( ever| actually| really)?( need to| have to)? "
    r"(call|ring|phone|contact|message|text|email|get in touch|get in touch with|reach out to|"
    r"get hold of|msg)( you| u| the clinic| the nurse| the team| someone| you guys| u guys|"
    r" you lot| u lot)?$",
    # which symptoms or stuff would make me call, the same day or today ("which signs should
    # make me phone the clinic today?", "what stuff means i should ring you")
    r"\b(which|what)( \w+)? (symptoms?|signs?|things?|stuff|fings|changes?|reactions?)\b.{0,20}"
    r"\b(should|would|will|must|might)( \w+)? (make|get|have|send|prompt|lead|push)( me| us)"
    rf"( \w+)?( to)? ({_CALL}|go|going)\b",
    rf"\b(which|what)( \w+)? (stuff|things?|fings)( \w+)? (means?|would mean)( that)?( i| we)"
    rf"( should| shud| need (to|2)| have (to|2)| must| ought to)?( \w+)? {_CALL}\b",
    # formal: which symptoms would warrant, justify or give cause for concern or a call
    r"^(?!.*\b(products?|ingredients?|foods?|exercises?|activities|serums?|creams?)\b)"
    r".*\b(which|what)( \w+){0,3} (symptoms?|signs?|side effects?|reactions?|changes?|effects?)\b"
    r".{0,50}\b(warrant\w*|justif\w*|merit\w*|give (me |us )?(cause|reason) (for|to)|"
    r"(be )?(a )?cause for|call for|necessitat\w*|require (a |me to )?(call|contact|attention))\b",
    # when to be worried about a sign ("when should i be worried about the swelling?")
    r"\bwhen (should|do|would|must|shall) (i|we) (be |get |feel )?(worried|concerned|worry|"
    rf"concern myself) (about|abt|over|with) (the |my |any )?({_SIGN_NOUN}|bleeding|puffiness|"
    r"it)\b",
    # a choice told as one between the emergency and waiting, or the clinic
    rf"\b(between|decide|deciding|choose|choosing|pick)\b.{{0,20}}\b{_HELP}\b.{{0,40}}"
    rf"\b(and|or|vs|versus)\b.{{0,30}}\b({_WAIT}|{_US})\b",
    rf"\b(between|decide|deciding|choose|choosing|pick)\b.{{0,20}}\b({_WAIT}|{_US})\b.{{0,40}}"
    rf"\b(and|or|vs|versus)\b.{{0,30}}\b{_HELP}\b",
    # answers round on batch 23: what should make me call, asked bare ("what should make me
    # call for help?"), when a sign becomes a warning sign ("at what point does oozing become a
    # warning sign?", "when does swelling turn into a danger sign"), and a sign gone then back,
    # asked ("what if the heat eased off and then returned by the weekend?")
    rf"\bwhat (should|would|must|will|might) (make|get|send|prompt) (me|us) (to )?({_CALL}|go|"
    rf"come (back )?in)\b",
    r"\bwhen (does|do|would|will|is|should|can)( the| my| any)? \w+( \w+)? (become|becomes|turn|"
    r"turns|count|counts|start|starts)( into| as| being)? (an? )?(warning|danger|red flag|"
    r"dangerous|serious|alarm)\w*( signs?| signals?)?\b",
    rf"^(?=.*\b(what if|what happens if|what would happen if|suppose|supposing|say|imagine|if)\b)"
    rf"(?!.*\b{_TOPICS}\b).*\b({_SIGN_NOUN}|heat|warmth|the red|skin|face|it|they)\b( \w+){{0,2}} "
    r"(went|goes|go|gone|going) (away|down|off)\b.{0,30}\b(then )?((came|comes|come|coming) back|"
    r"returns?|returned|flares? up|flared up|reappears?|reappeared)\b"
    rf"|^(?=.*\b(what if|what happens if|what would happen if|suppose|supposing|say|imagine|if)\b)"
    rf"(?!.*\b{_TOPICS}\b).*\b({_SIGN_NOUN}|heat|warmth|the red|skin|face|it|they)\b( \w+){{0,2}} "
    r"(fades?|faded|settles?|settled|calms?|calmed|eases?|eased|subsides?|subsided|clears?|"
    r"cleared|dies|died|dying)( down| off| up)?\b.{0,30}\b(then )?((came|comes|come|coming) "
    r"back|returns?|returned|flares? up|flared up|reappears?|reappeared)\b",
    # at what stage or time to call ("at what stage should i be telephoning someone?")
    rf"\bat (what|which) (stage|time|moment)\b.{{0,60}}\b({_CALL}|{_HELP})\b",
    # a condition opened by "should" (the inverted "if"), then what it would mean or what to
    # do ("should my cheeks start to ooze, would that mean infection?", "should the redness
    # spread to my neck, is that an emergency?"); not this state now
    r"^(and |but |so |also )?should (i|we|it|they|there|(my|the|any|a|an|some|her|his)( \w+){1,3})"
    r"( ever| later| suddenly| then)? (develop|become|turn|get|go|start|begin|swell|spread|appear|"
    r"ooze|weep|bleed|blister|come (up|back|out)|break out|show up|flare up|return|crust|puff up)\b"
    r"(?!.*\b(this|these|like this|right now|now|already)\b).{0,80}\b(what (ought|should|do|"
    r"would|must|shall) (i|we)( to)? do|what (would|does|could|might|will) (that|it|this) (mean|"
    r"indicate|"
    r"point to|suggest|signal)|what does (that|it|this) point to|(is|would) (that|it|this) (be )?"
    r"(an emergency|serious|bad|a problem|a worry|a concern|dangerous|urgent|infection|mean)|"
    r"how (urgent|serious|bad|worried|concerned)|who (do|should|would|must) (i|we) (contact|call|"
    r"ring|phone|tell)|should (i|we) (call|ring|phone|worry|contact|be worried))\b",
)  # "airway@es": the rule-out question asked in Spanish
# asked only whether one matches: each searched alone, when the text has its words
WHEN_TO_GET_HELP = AnyOf(_WHEN_TO_GET_HELP_SOURCES)
TASK = "task"  # the scope category of a request for a task of another kind (scope.yaml)


@dataclass(frozen=True)
class Suggestion:
    """A knowledge-base entry offered as a button."""

    entry_id: str
    title: str


@dataclass(frozen=True)
class FollowUp:
    """A one-tap rule-out question sent with the answer: Yes escalates at ``tier`` at once."""

    id: str
    question: str
    tier: str
    yes: str
    no: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "tier_if_yes": self.tier,
                "buttons": [self.yes, self.no]}


@dataclass(frozen=True)
class Advice:
    """The reply to one patient message, and why."""

    answer: str
    kind: Kind
    topic: str | None = None
    confidence: float = 0.0
    urgency: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    triage: TriageDecision | None = None
    offer_handoff: bool = False
    routine_review: bool = False
    day: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    language: str = "en"  # ISO 639-1 code of the language the reply is written in
    detected: Detection | None = None  # the detected language, when not English
    follow_up: FollowUp | None = None  # a one-tap rule-out question sent with the answer

    @property
    def escalate(self) -> bool:
        return self.urgency is not None

    @property
    def foreign(self) -> bool:
        """A message in another language that the bot could not read (no sign recognised)."""
        return self.kind == "foreign"

    def to_json(self) -> dict[str, Any]:
        """The documented ``aftercare ask --json`` object."""
        return {
            "answer": self.answer,
            "topic": self.topic,
            "confidence": round(self.confidence, 3),
            "escalate": self.escalate,
            "urgency": self.urgency,
            "suggestions": [s.title for s in self.suggestions],
            "language": self.detected.code if self.detected else "en",
            "follow_up": self.follow_up.to_json() if self.follow_up else None,
            "triage": self._triage_json(),
        }

    def _triage_json(self) -> dict[str, Any] | None:
        """Why a red flag was raised, for staff: the sign, the detector that raised it ("rules"
        or a second detector) and that detector's reason ('close to: breathing + badly
        (concepts)'); None when nothing was escalated."""
        decision = self.triage
        if not self.escalate or decision is None or decision.sign is None:
            return None
        return {"sign": decision.sign, "detector": decision.detector,
                "close_to": decision.close_to or None}


class Advisor:
    """Turns a message and a recovery day into ``Advice``."""

    def __init__(self, kb: KnowledgeBase, triage: Triage, scope: ScopeGuard,
                 messages: Catalogue, clinic: Clinic | None = None,
                 languages: Multilingual | None = None, signs: SignData | None = None,
                 topics: LanguageTopics | None = None,
                 questions: WarningQuestions | None = None) -> None:
        self.kb = kb
        self.matcher = Matcher(kb)
        self.triage = triage
        self.scope = scope.knowing(kb_words(kb), self.matcher.corrects)
        self.messages = messages if clinic is None else messages.with_clinic(clinic)
        self.languages = languages
        self.signs = signs or load_sign_data()
        self.topics = topics  # everyday topics named in other languages
        # warning-signs questions read as a frame with a warning-sign concept
        self.questions = questions or load_warning_questions()

    @classmethod
    def load(cls, kb_path: Path | None = None, clinic: Clinic | None = None,
             second_detector: str | None = DEFAULT_DETECTOR,
             detectors: Sequence[Detector] = ()) -> Advisor:
        """Build from the data files: the knowledge base at `kb_path` (default: packaged).
        ``second_detector`` names the detector that backs up the rules
        (knowledge/detectors.py; None: rules alone; "ngram+concepts", the default, and
        "ngram+embed": both of the two); ``detectors`` are
        more, any of which can raise the alarm."""
        # each sign's patterns compiled when a message first needs them (start-up time; the
        # packaged rules are compiled whole by ``aftercare kb check`` and the tests)
        kb, triage = load_kb(kb_path), load_triage(compile_now=False)
        messages = Catalogue.load(PACKAGED_MESSAGES, clinic)
        languages = Multilingual.load(triage.signs, english_vocabulary(kb, triage),
                                      messages.get("languages.names", {}))
        chosen = (*load_detectors(second_detector), *detectors)
        if chosen:
            triage = triage.with_detectors(tuple(chosen))
        topics = load_language_topics(entry.id for entry in kb.entries)
        return cls(kb, triage, load_scope(), messages, None, languages, load_sign_data(),
                   topics, load_warning_questions())

    def warm_up(self) -> None:
        """Build now what answering otherwise builds on the first message that needs it
        (``load`` leaves it: start-up time): every triage pattern compiled, whole and one by
        one, and the second detector's index of normal healing (``Triage.warm_up``); the
        English word list of the spellers; every language file read, with its typo index
        (``Multilingual.warm_up``). Answers do not change; a message answered
        meanwhile in another thread builds what it needs itself. Long-running processes call
        it in the background once they answer (bot/warmup.py); about 1.4 s of CPU."""
        self.triage.warm_up()
        WHEN_TO_GET_HELP.warm_up()
        english_words()
        if self.languages is not None:
            self.languages.warm_up()

    @property
    def clinic(self) -> Clinic:
        """The clinic the advice speaks for (the catalogue's)."""
        return self.messages.clinic

    def text(self, key: str, **values: Any) -> str:
        """A message from knowledge/messages.yaml (dotted key), clinic details filled in."""
        return self.messages.text(key, **values)

    def ask(self, text: str, day: int | None = None, language_hint: str | None = None,
            weekday: int | None = None) -> Advice:
        """Triage, then out-of-scope, small talk and the knowledge base, in that order.

        A message in another language is triaged with that language's sign lexicon too
        (``knowledge/multilingual/``) and answered from its templates; ``language_hint`` is
        the patient's Telegram ``language_code``, a hint only. ``weekday`` (Monday = 0, today in
        the patient's zone) lets "at the weekend" and weekday names be answered for that day;
        "tomorrow" and "in 3 days" need only ``day``.
        """
        decision = self.triage.assess(text, day)
        reading = self.languages.read(text, day, language_hint) if self.languages else None
        if (reading is None and decision.urgency is None and not decision.in_general
                and self.languages is not None):
            # (an English question asked in general is not read again as unaccented German:
            # "whats a granuloma?")
            reading = self.languages.read_unaccented(text, day, language_hint)
        if reading is not None and self._plain_english(text, decision, reading):
            reading = None  # "brilliant, ta" or "qwertyuiop" is no other language
        if reading is not None and self._chat_english(text, decision, reading):
            reading = None  # "smokin n vapin?" is English with its g's dropped
        if reading is not None and self._fuzzy_on_english(text, decision, reading, day):
            reading = None  # "how do i reset my router" is no German "röter"
        if reading is not None and self._english_alarm(text, decision, reading):
            reading = None  # "im choking" is no German "im"
        if reading is not None:
            return self._other_language(reading, decision, day, text)
        if decision.urgency is not None:
            return self._escalate(decision, day)
        advice = self._warning_signs(self._answer_for(text, decision, day, weekday), decision,
                                     day)
        advice = self._when_to_get_help(text, advice, decision, day)
        question = self.signs.questions.get(decision.follow_up or "")
        scope = advice.extra.get("scope")
        # someone else's treated skin described now ("my partners face is swelling up fast"):
        # the same day's guidance and rule-out question as the patient's own words get
        skin_now = scope == "everyday" and self._names_treated_skin(decision)
        if question is None or (scope == "everyday" and not skin_now):
            # somebody else's illness or an untreated part ("my son has an ear infection"):
            # the rule-out questions are about the patient's treated skin
            return advice
        if scope is not None and not skin_now:
            # a request the bot must not answer (a prescription for an infection elsewhere, a
            # diagnosis) keeps its own reply, with the rule-out question for the skin
            return replace(advice, follow_up=self._follow_up(question), triage=decision)
        # a symptom described ("check" sign): the day's guidance stands in for an abstention;
        # a red flag only asked about keeps its answer (or abstention) and gets the question
        if (decision.sign is not None and advice.kind in ("abstained", "suggested")
                and self.kb.by_id(DAY_GUIDANCE)):
            entry = self.kb.by_id(DAY_GUIDANCE)
            assert entry is not None
            advice = self._answer(entry, advice.confidence, day)
        return replace(advice, follow_up=self._follow_up(question), triage=decision)

    def _warning_signs(self, advice: Advice, decision: TriageDecision,
                       day: int | None) -> Advice:
        """A red flag only asked about or told as a story, with nothing reported ("what if my
        lips swell?", "my friend's lips swelled after hers, should i worry?"): the warning
        signs (``WARNING_SIGNS``), led by the most serious sign's own line
        (sign_advice.yaml, ``asked``), instead of an entry that shares a side word with the
        question. Kept: a reply out of scope or small talk, a sign reported (any tier), and
        an entry that the sign's line names as answering it already (``keep``). Someone else's
        past sign told, then what the writer should look for (``decision.story_asked``, triage's
        one reading of it) is the warning signs whatever entry or everyday scope it met."""
        story = decision.story_asked and advice.extra.get("scope") in (None, "everyday")
        if (decision.urgency is not None or decision.sign is not None
                or not (decision.asked or story) or advice.kind == "smalltalk"
                or (advice.extra.get("scope") is not None and not story)):
            return advice
        entry = self.kb.by_id(WARNING_SIGNS)
        if entry is not None and story and not decision.asked:
            return advice if advice.topic == WARNING_SIGNS else self._answer(entry, 1.0, day)
        line = self.signs.asked.get(decision.asked[0])
        if entry is None or line is None:
            return advice
        lead = self.messages.fill(line.text)
        if advice.kind == "answered" and advice.topic in line.keep and not story:
            return advice
        if advice.kind == "suggested" and not story and any(s.entry_id in line.keep
                                                            for s in advice.suggestions):
            return advice  # the patient picks; one of the choices answers it
        if advice.kind == "answered" and decision.asked_rest and not story:
            # the message asks something else as well ("what if i get a fever, how much is a
            # session?"): when the rest alone is that answer, it stays, led by the sign's line
            rest = self.matcher.match(decision.asked_rest)
            if rest.outcome == "answer" and rest.entry_id == advice.topic != WARNING_SIGNS:
                return replace(advice, answer=f"{lead}\n\n{advice.answer}")
        answered = self._answer(entry, 1.0, day)
        return replace(answered, answer=f"{lead}\n\n{answered.answer}")

    def _when_to_get_help(self, text: str, advice: Advice, decision: TriageDecision,
                          day: int | None) -> Advice:
        """When to get help asked as a choice ("the clinic or 999?", "ring you or wait it
        out?"), as a threshold ("bad enough to ring 999?", "when is it worth a call?"), which
        of one sign would be abnormal ("what bleeding would count as abnormal?"), a sign late
        or back asked about ("what if i'm still red after a week?"), or what to watch for over
        the next days: the warning signs, whatever sign word the matcher caught ("is the
        swelling normal?" keeps the swelling answer). Kept: a sign reported or asked about
        (``_warning_signs``), a reply out of scope and small talk."""
        if (decision.urgency is not None or decision.sign is not None
                or advice.kind == "smalltalk" or advice.extra.get("scope") is not None
                or advice.topic == WARNING_SIGNS):
            return advice
        if not any(WHEN_TO_GET_HELP.search(folded) or self.questions.frame(folded) is not None
                   for folded in _question_forms(text)):
            return advice
        entry = self.kb.by_id(WARNING_SIGNS)
        return advice if entry is None else self._answer(entry, advice.confidence, day)

    def _names_treated_skin(self, decision: TriageDecision) -> bool:
        """Whether a described sign ("check" tier, not one only asked about) names a part of
        the treated skin in its evidence (a word of scope.yaml's ``treated`` lexicon)."""
        if decision.sign is None or not decision.evidence:
            return False
        return any(word in self.scope.treated for word in fold(decision.evidence).split())

    def _fuzzy_on_english(self, text: str, decision: TriageDecision, reading: Reading,
                          day: int | None) -> bool:
        """A low-confidence language guess on plain English whose sign only the other
        lexicon's typo matching found: read as written, that lexicon finds nothing."""
        if (self.languages is None or decision.urgency is not None
                or reading.decision.urgency is None
                or reading.detection.confidence >= UNSURE_LANGUAGE
                or not fold(text).isascii()
                or self.triage.english_share(text) < PLAIN_ENGLISH_SHARE):
            return False
        exact = self.languages.lexicons.assess(text, day, reading.detection.candidates,
                                               exact=True)
        return exact.decision.urgency is None

    def _english_alarm(self, text: str, decision: TriageDecision, reading: Reading) -> bool:
        """A red flag the English rules read in a message whose every word is English or a
        typo of the vocabulary, which the language model took for another language ("im
        choking": German "im") and whose language reader found nothing, or only a lower tier
        (a misspelt fever with "im" and "hart": German to the model, whose reader sees the
        fever but not the confusion): answered in English, at the English tier. A red flag
        found by either reader raises the alarm; the more serious one is the answer."""
        return (decision.urgency is not None
                and (reading.decision.urgency is None
                     or _TIER_RANK[decision.urgency] < _TIER_RANK[reading.decision.urgency])
                and fold(text).isascii()
                and self.triage.english_share(text) >= ALL_ENGLISH_SHARE
                and not self._denied_in(reading, decision)
                and not self._read_as_foreign(text, decision, reading))

    def _chat_english(self, text: str, decision: TriageDecision, reading: Reading) -> bool:
        """Short English chat that the language model is unsure of: with its dropped g's and
        "n" for "and" and -z plurals restored ("smokin n vapin", "spotz"), the message reads as
        English, or (a few words) half English when the language is only a guess. Only when
        neither reader found a sign."""
        if (decision.urgency is not None or reading.decision.urgency is not None
                or reading.detection.confidence >= UNSURE_LANGUAGE or not fold(text).isascii()):
            return False
        restored = _CHAT_AND.sub("and", _DROPPED_G.sub(r"\1g", fold(text)))
        restored = CHAT_PLURAL.sub(r"\1s", restored)
        share = self.triage.english_share(restored)
        if (reading.detection.confidence < GUESSED_LANGUAGE and share >= HALF_ENGLISH
                and len([w for w in restored.split() if len(w) >= 3]) <= GUESSED_WORDS):
            return True  # a guess on a few half-English words ("capital of australia")
        return restored != fold(text) and share >= PLAIN_ENGLISH_SHARE

    def _plain_english(self, text: str, decision: TriageDecision, reading: Reading) -> bool:
        """English small talk, a keyboard mash or a request for a task of another kind ("tell
        me a story") that the language reader took for another language; only when neither
        reader found a sign."""
        if decision.urgency is not None or reading.decision.urgency is not None:
            return False
        if not fold(text).isascii():  # other scripts are read by the language reader
            return False
        return (smalltalk_kind(text) is not None or looks_like_gibberish(text)
                or self.scope.category(text) == TASK)

    def _local(self, language: str) -> Catalogue | None:
        """The patient texts of ``language`` (knowledge/languages/<code>.yaml) speaking for
        this clinic; None for English and for a language without a file."""
        texts = self.languages.texts(language) if self.languages and language != "en" else None
        return None if texts is None else texts.with_clinic(self.clinic)

    def _filler(self, language: str) -> Catalogue:
        """What fills a text written in ``language`` (a rule-out question, sign advice, a
        language-topics line): its own catalogue, so the clinic is named in its way
        (``{clinic_named}``) and an unset emergency number is its own text; English's when
        the language has no file."""
        return self._local(language) or self.messages

    def _local_question(self, question: FollowUpQuestion,
                        language: str) -> tuple[str, str, str, str] | None:
        """(text, no_reply, yes, no) of a question in ``language`` (None: English, or the
        language's file lacks the question or the Yes/No labels)."""
        local = self._local(language)
        if local is None:
            return None
        key = f"follow_ups.{question.id}"
        found = (local.get(f"{key}.text"), local.get(f"{key}.no_reply"),
                 local.get("buttons.yes"), local.get("buttons.no"))
        return found if all(isinstance(part, str) and part for part in found) else None

    def _follow_up(self, question: FollowUpQuestion, language: str = "en") -> FollowUp:
        """The question in ``language`` when its file has it (the id then names the language:
        "airway@es", so the tap is answered in it too), else in English."""
        local = self._local_question(question, language)
        if local is not None:
            text, _, yes, no = local
            return FollowUp(f"{question.id}{LANGUAGE_MARK}{language}",
                            self._filler(language).fill(text), question.tier, yes, no)
        return FollowUp(question.id, self.messages.fill(question.text),
                        question.tier, self.signs.yes_label, self.signs.no_label)

    def _question(self, question_id: str) -> tuple[FollowUpQuestion | None, str]:
        base, _, language = question_id.partition(LANGUAGE_MARK)
        question = self.signs.questions.get(base)
        if question is None or (language and self._local_question(question, language) is None):
            return None, "en"
        return question, language or "en"

    def follow_up(self, question_id: str) -> FollowUp | None:
        """The rule-out question with this id (None for an unknown or forged id)."""
        question, language = self._question(question_id)
        return None if question is None else self._follow_up(question, language)

    def typed_answer(self, question_id: str, text: str) -> bool | None:
        """A rule-out answer typed instead of tapped: True for a bare yes ("yes", "yeah a
        bit", "not sure": unsure is yes), False for a bare no ("nope, none of those"), in
        English or in the language the question was asked in (knowledge/followups.yaml and
        the language file's ``follow_ups``); None for anything else, which is read as a
        message of its own (a sign in it is triaged as always)."""
        question, language = self._question(question_id)
        if question is None:
            return None
        said = answer_words(text)
        yes = {answer_words(self.signs.yes_label), *self.signs.yes_words}
        no = {answer_words(self.signs.no_label), *self.signs.no_words}
        if language != "en" and self.languages is not None:
            local_yes, local_no = self.languages.typed_answers(language)
            yes |= local_yes
            no |= local_no
        said_yes, said_no = _said(said, yes), _said(said, no)
        return said_yes if said_yes != said_no else None

    def answer_follow_up(self, question_id: str, yes: bool, day: int | None) -> Advice | None:
        """The reply to a tap on a rule-out question: Yes escalates at the question's tier at
        once (an ``escalated`` Advice, like a red flag); No is an acknowledgement to record.
        Both in the language the question was asked in. None for an unknown question id."""
        question, language = self._question(question_id)
        if question is None:
            return None
        local = self._local_question(question, language)
        asked = self.messages.fill(question.text)
        if not yes:
            filler = self._filler(language) if local is not None else self.messages
            no_reply = local[1] if local is not None else question.no_reply
            return Advice(filler.fill(no_reply), "answered",
                          topic=f"follow_up.{question.id}.no", confidence=1.0, day=day,
                          language=language)
        when = "day unknown" if day is None else f"day {day}"
        decision = TriageDecision(
            urgency=question.tier, sign=f"follow_up_{question.id}",
            rule=f"answered Yes to the rule-out question ({when})", evidence=asked, day=day)
        answer = (self.language_text(language, question.tier) if local is not None
                  else self.text(question.tier))
        return Advice(answer, "escalated", topic=f"red_flag.{decision.sign}",
                      confidence=1.0, urgency=question.tier, triage=decision, day=day,
                      language=language)

    def _answer_for(self, text: str, decision: TriageDecision, day: int | None,
                    weekday: int | None) -> Advice:
        kind = smalltalk_kind(text)
        if kind is not None:
            return Advice(self.text(f"smalltalk.{kind}"), "smalltalk", topic="smalltalk",
                          confidence=1.0, day=day)
        if looks_like_gibberish(text):
            return self._gibberish(day)
        category = self.scope.category(text)
        entry = self.kb.by_id(self.scope.answer_entry(category) or "") if category else None
        if entry is not None and category is not None and self.scope.defer_to(category):
            result = self.matcher.match(text)
            if result.outcome == "answer" and result.entry_id in self.scope.defer_to(category):
                return self._from_match(result, day, days_ahead(text, weekday))
        if entry is not None:
            return self._answer(entry, 1.0, day)
        if category is not None:
            return Advice(self.text(f"scope.{category}"), "abstained", day=day,
                          offer_handoff=True, extra={"scope": category})
        result = self.matcher.match(text)
        question = _asked_sentence(text) if result.outcome == "abstain" else None
        if question is not None and self.scope.category(question) is None:
            # one question among sentences that only tell ("what is a dermapen? my cousin will
            # not stop talking about it."): the question alone, when it alone is an answer
            alone = self.matcher.match(question)
            if alone.outcome == "answer":
                result = alone
        advice = self._from_match(result, day, days_ahead(text, weekday))
        if decision.routine_review:
            return self._with_review(advice, decision)
        return advice

    def answer_entry(self, entry_id: str, day: int | None) -> Advice | None:
        """The answer for a chosen suggestion (None for an unknown id)."""
        entry = self.kb.by_id(entry_id)
        return None if entry is None else self._answer(entry, 1.0, day)

    def _from_match(self, result: MatchResult, day: int | None,
                    ahead: Ahead | None = None) -> Advice:
        confidence = result.confidence
        if result.outcome == "answer" and result.entry_id is not None:
            entry = self.kb.by_id(result.entry_id)
            assert entry is not None
            if ahead is not None and day is not None and entry.answer.day_aware:
                return self._answer_ahead(entry, confidence, day, ahead)
            return self._answer(entry, confidence, day)
        if result.outcome == "suggest":
            suggestions = tuple(self._suggestion(c.entry_id) for c in result.candidates)
            return Advice(self.text("suggest"), "suggested", confidence=confidence,
                          suggestions=suggestions, offer_handoff=True, day=day)
        return Advice(self.text("abstain"), "abstained", confidence=confidence,
                      offer_handoff=True, day=day)

    def _answer(self, entry: Entry, confidence: float, day: int | None) -> Advice:
        body, used_day = entry.answer.for_day(day)
        if used_day and day is not None:
            prefix = self.text("day_prefix.zero" if day == 0 else "day_prefix.other", day=day)
            body = f"{prefix} {body}"
        return Advice(body, "answered", topic=entry.id, confidence=confidence,
                      offer_handoff=entry.handoff, day=day)

    def _answer_ahead(self, entry: Entry, confidence: float, day: int, ahead: Ahead) -> Advice:
        """The answer for the day the patient asked about ("tomorrow" on day 1 is day 2)."""
        later = day + ahead.days
        body, used_day = entry.answer.for_day(later)
        if used_day:
            prefix = self.text("day_prefix.ahead", when=ahead.phrase, day=later)
            body = f"{prefix} {body}"
        return Advice(body, "answered", topic=entry.id, confidence=confidence,
                      offer_handoff=entry.handoff, day=day, extra={"answered_for_day": later})

    def _suggestion(self, entry_id: str) -> Suggestion:
        entry = self.kb.by_id(entry_id)
        return Suggestion(entry_id, entry.title if entry else entry_id)

    def _gibberish(self, day: int | None) -> Advice:
        popular = [self._suggestion(e) for e in self.messages.get("popular_topics", [])
                   if self.kb.by_id(e) is not None]
        return Advice(self.text("gibberish"), "abstained", suggestions=tuple(popular[:3]),
                      offer_handoff=True, day=day)

    def _escalate(self, decision: TriageDecision, day: int | None) -> Advice:
        assert decision.urgency in (EMERGENCY, URGENT)
        answer = self.text(decision.urgency)
        what_now = self.signs.advice.get(decision.sign or "")
        if what_now:
            answer = f"{answer}\n\n{self.messages.fill(what_now)}"
        return Advice(answer, "escalated", topic=f"red_flag.{decision.sign}",
                      confidence=1.0, urgency=decision.urgency, triage=decision, day=day)

    def language_text(self, language: str, key: str) -> str:
        """A patient template in ``language`` (``knowledge/languages/``), English when the bot
        has none for that language; with the clinic's details filled in."""
        local = self._local(language)
        if local is not None and f"messages.{key}" in local:
            return local.text(f"messages.{key}")
        return self.text(f"languages.{key}") if f"languages.{key}" in self.messages \
            else self.text(key)

    def language_hours(self, language: str) -> Catalogue | None:
        """The texts of ``language`` when its file has the clinic-hours sentences and words
        (keys ``hours.<key>``, like the bot's own ``hours`` section); None for English and for
        a language without them."""
        local = self._local(language)
        return local if local is not None and local.get("hours") else None

    def language_name(self, code: str) -> str:
        """The English name of a language for staff ("Spanish")."""
        return self.languages.name(code) if self.languages else code

    def _other_language(self, reading: Reading, english: TriageDecision,
                        day: int | None, text: str) -> Advice:
        """A message not in English: the most serious sign either reader found, answered in
        the patient's language; else small talk, else "I can only read English"."""
        decision = reading.decision
        # The English rules cannot see "pas de pus" as a negation: they speak only for a
        # language the bot has no lexicon for ("pus" or "38.5" in Dutch still raise the alarm).
        # A short English message full of typos can look foreign to the language model
        # ("thraot closin up"): when the model is unsure, the other reader found nothing and
        # the words read as English to the triage speller, the English red flag stands too.
        unsupported = not reading.detection.supported and english.urgency is not None and (
            decision.urgency is None
            or _TIER_RANK[english.urgency] < _TIER_RANK[decision.urgency])
        typo_english = (english.urgency is not None and decision.urgency is None
                        and reading.detection.confidence < UNSURE_LANGUAGE
                        and self.triage.english_share(text) >= ENGLISH_SHARE
                        and not self._denied_in(reading, english)
                        and not self._read_as_foreign(text, english, reading))
        if unsupported or typo_english:
            decision = english
        language = reading.language
        extra: dict[str, Any] = {"language": reading.detection.code,
                                 "language_name": self.language_name(reading.detection.code)}
        if decision.urgency is not None:
            answer = self.language_text(language, decision.urgency)
            group = self.signs.groups.get(decision.sign or "")
            local = self._local(language)
            what_now = local.get(f"sign_advice.{group}") if local is not None and group else None
            if what_now and local is not None:
                answer = f"{answer}\n\n{local.fill(what_now)}"
            return Advice(answer, "escalated",
                          topic=f"red_flag.{decision.sign}", confidence=1.0,
                          urgency=decision.urgency, triage=decision, day=day, extra=extra,
                          language=language, detected=reading.detection)
        if reading.smalltalk:
            return Advice(self.language_text(language, "smalltalk"), "smalltalk",
                          topic="smalltalk", confidence=1.0, day=day, extra=extra,
                          language=language, detected=reading.detection)
        question = self.signs.questions.get(decision.follow_up or "")
        follow_up = self._follow_up(question, language) if question is not None else None
        if follow_up is not None and LANGUAGE_MARK not in follow_up.id:
            follow_up = None  # never an English question under a reply in another language
        topic = self.topics.topic(text, language) if self.topics is not None else None
        entry = self.kb.by_id(topic) if topic is not None else None
        note = self.topics.note(language) if self.topics is not None else None
        safety = self.topics.safety_line(language) if self.topics is not None else None
        if entry is not None and note is not None and safety is not None:
            # an everyday question the table recognises: the English answer with the emergency
            # line in their language, and (from the bot, when it passes the message to staff) a
            # line in their language saying the team has it too
            answered = self._answer(entry, 1.0, day)
            filler = self._filler(language)
            return replace(answered, answer=f"{answered.answer}\n\n{filler.fill(safety)}",
                           offer_handoff=True, language=language, detected=reading.detection,
                           follow_up=follow_up,
                           extra={**extra, "forward_note": filler.fill(note)},
                           **self._foreign_review(decision))
        return Advice(self.language_text(language, "english_only"), "foreign",
                      offer_handoff=True, day=day, extra=extra, language=language,
                      detected=reading.detection, follow_up=follow_up,
                      **self._foreign_review(decision))

    @staticmethod
    def _foreign_review(decision: TriageDecision) -> dict[str, Any]:
        """A routine review read in another language ("die Rötung wird nicht besser" on day 3):
        no alert, marked for staff with its decision (the message goes to them anyway)."""
        if not decision.routine_review:
            return {}
        return {"routine_review": True, "triage": decision}

    def _denied_in(self, reading: Reading, english: TriageDecision) -> bool:
        """The English sign's words carry a negation of the message's language ("sin pus",
        "sem febre"): the language reader's denial stands, the English rules cannot see it."""
        if self.languages is None:
            return False
        words = set(fold(english.evidence).split())
        for code in reading.detection.candidates:
            pack = self.languages.lexicons.pack(code)
            if pack is not None and words & pack.negations:
                return True
        return False

    def _read_as_foreign(self, text: str, english: TriageDecision, reading: Reading) -> bool:
        """The English sign rests on a spelling correction (a word of its evidence is not in
        the text as written) in a message with a word the language reader's lexicon reads as
        its own, exactly: "ab welcher Temperatur hat man Fieber?" is German "Fieber", read by
        its reader (here an abstract question), not a typo of "fever"."""
        if self.languages is None:
            return False
        written = set(_WORDS.findall(_APOSTROPHES.sub("", fold(text))))
        said = set(_WORDS.findall(fold(english.evidence)))
        if said <= written:
            return False
        for code in reading.detection.candidates:
            pack = self.languages.lexicons.pack(code)
            if pack is None:
                continue
            for word in written - said:
                if len(word) >= FOREIGN_WORD:
                    ids, _, fuzzy = pack.read_word(word)
                    if ids and not fuzzy:
                        return True
        return False

    def _with_review(self, advice: Advice, decision: TriageDecision) -> Advice:
        sign_note = self.signs.advice.get(decision.sign or "")
        note = self.messages.fill(sign_note) if sign_note else self.text(
            "routine_review")
        return Advice(f"{advice.answer}\n\n{note}", advice.kind, topic=advice.topic,
                      confidence=advice.confidence, suggestions=advice.suggestions,
                      triage=decision, offer_handoff=True, routine_review=True, day=advice.day)


# chat spellings of English: a dropped final g ("vapin"), "n" for "and"
_DROPPED_G = re.compile(r"\b([a-z]{2,}[^aeiou\s]in)\b")
_CHAT_AND = re.compile(r"\bn\b")
_PATTERN_ESCAPES = re.compile(r"\\[a-zA-Z]")
_WORDS = re.compile(r"[a-z]{2,}")
_APOSTROPHES = re.compile("['\u2019]")


def _said(said: str, answers: set[str]) -> bool:
    """`said` is one of `answers`, or two of them one after the other ("nope" "none of
    those", "yes" "a bit")."""
    if said in answers:
        return True
    words = said.split()
    return any(" ".join(words[:cut]) in answers and " ".join(words[cut:]) in answers
               for cut in range(1, len(words)))


def _question_forms(text: str) -> list[str]:
    """The folded message, then each of its sentences folded on its own when it has several
    and names no booking, opening hours or the number: a question that ends its sentence ("when
    shud i ring u?? i cant stand looking like a beetroot") is read up to its end, which
    folding alone loses with the punctuation (answers round on batch 26)."""
    folded = fold(text)
    sentences = [part for part in _SENTENCE_BREAK.split(text) if part.strip()]
    if len(sentences) < 2 or _ELSEWHERE.search(folded):
        return [folded]
    return [folded, *(fold(part) for part in sentences)]


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def _asked_sentence(text: str) -> str | None:
    """The one sentence of a message of several that asks (ends with "?"), the others only
    telling; None for a message of one sentence, or of several questions or none (answers
    round on batches 27 and 28)."""
    sentences = [part.strip() for part in _SENTENCE.findall(text) if part.strip(" .!?")]
    asked = [part for part in sentences if part.endswith("?")]
    return asked[0] if len(sentences) > 1 and len(asked) == 1 else None


def kb_words(kb: KnowledgeBase) -> frozenset[str]:
    """The words of the knowledge base's titles, example questions and keywords (folded)."""
    words: set[str] = set()
    for entry in kb.entries:
        for text in (entry.title, *entry.questions, *entry.keywords):
            words.update(fold(text).split())
    return frozenset(words)


def english_vocabulary(kb: KnowledgeBase, triage: Triage) -> set[str]:
    """Words the bot knows as English: the knowledge base, the triage rules' words and the
    function words; a Latin-script message made mostly of these is read as English."""
    words: set[str] = set(STOPWORDS) | set(FILLER) | set(SYNONYMS) | set(SHORTHAND) | {"i", "a"}
    # (round fifty-eight) states the rules spell only as stems ("confus\w*", "chok\w*"): a
    # short chat message with one of them ("temp 39 n im confused") was read as German
    words |= {"confused", "disoriented", "disorientated", "delirious", "fainted", "choking"}
    texts: list[str] = []
    for entry in kb.entries:
        texts += [entry.title, *entry.questions, *entry.keywords, entry.answer.unknown,
                  *(window.text for window in entry.answer.windows)]
    rules = (sign.primary.rule for sign in triage.signs)  # their sources: nothing compiled
    texts += [_PATTERN_ESCAPES.sub(" ", rule.source) for rule in rules if rule is not None]
    for text in texts:
        words.update(_WORDS.findall(text.lower().replace("'", "")))
    return words
