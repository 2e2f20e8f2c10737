"""The client's settings: /settings, /schedule, /timezone, /quiet, /pause, /resume, /stop,
/language, the setup buttons, and the buttons under each check-in."""

from __future__ import annotations

from telegram import Update

from bot.domain.models import Client, Specialist
from bot.domain.rhythm import Cadence, QuietHours, ScheduleSyntaxError, parse_quiet, parse_zone
from bot.handlers.common import command_text
from bot.handlers.context import Context, services
from bot.handlers.menus import set_menu
from bot.services.checkins import Tap, parse_checkin_data
from bot.services.languages import SETUP, parse_language_data
from bot.services.preferences import Preferences


async def cmd_settings(update: Update, context: Context, client: Client, _: Specialist) -> None:
    """/settings: a plain summary and the menu."""
    await services(context).preferences.send_settings(client)


async def cmd_schedule(update: Update, context: Context, client: Client, _: Specialist) -> None:
    """/schedule daily 09:30 (and the other typed forms), or the buttons."""
    await services(context).preferences.schedule_command(client, context.args or [])


async def cmd_timezone(update: Update, context: Context, client: Client, _: Specialist) -> None:
    """/timezone Europe/Berlin or /timezone UTC+02:00, or the buttons."""
    await services(context).preferences.timezone_command(client, context.args or [])


async def cmd_quiet(update: Update, context: Context, client: Client, _: Specialist) -> None:
    """/quiet 22:00-08:00 or /quiet off, or the buttons."""
    await services(context).preferences.quiet_command(client, context.args or [])


async def cmd_pause(
    update: Update, context: Context, client: Client, specialist: Specialist
) -> None:
    """/pause 1w, or the choices."""
    await services(context).preferences.pause_command(client, specialist, context.args or [])


async def cmd_resume(
    update: Update, context: Context, client: Client, specialist: Specialist
) -> None:
    """/resume after a pause or a stop."""
    await services(context).preferences.resume(client, specialist)


async def cmd_stop(
    update: Update, context: Context, client: Client, specialist: Specialist
) -> None:
    """/stop: asks first."""
    prefs = services(context).preferences
    await prefs.ask(client, prefs.stop_question(client, specialist.display_name))


async def cmd_mydata(
    update: Update, context: Context, client: Client, specialist: Specialist
) -> None:
    """/mydata: everything stored about the client, as a JSON file."""
    await services(context).export.send(client, specialist)


async def cmd_privacy(
    update: Update, context: Context, client: Client, specialist: Specialist
) -> None:
    """/privacy: what is stored, for how long, who sees what (with the Okay for changed
    terms not yet accepted)."""
    found = services(context)
    await found.onboarding.send_privacy(client, specialist, found.retention.days)


async def cmd_forget(
    update: Update, context: Context, client: Client, specialist: Specialist
) -> None:
    """/forget: erase everything about the client, after a confirmation."""
    await services(context).erasure.ask(client, specialist)


async def cmd_language(update: Update, context: Context, client: Client, _: Specialist) -> None:
    """/language: the choices; /language es or /language Español: that language."""
    chosen = await services(context).languages.command(client, command_text(update))
    await _menu_follows(context, client, chosen)


async def _menu_follows(context: Context, before: Client, after: Client) -> None:
    """A client who chose another language gets their command menu in it too."""
    if after.language != before.language:
        await set_menu(
            context.bot, services(context).texts, after.chat_id, "client", after.language
        )


async def on_settings_button(
    update: Update, context: Context, client: Client, specialist: Specialist
) -> bool:
    """Every settings and check-in button; False when the data is not one we made."""
    query = update.callback_query
    assert query is not None and query.message is not None
    data = query.data or ""
    message_id = query.message.message_id
    prefs = services(context).preferences
    kind, _, rest = data.partition(":")
    try:
        if kind == "r":
            return await _rhythm_step(prefs, client, rest, message_id)
        if kind == "z":
            await prefs.set_timezone(client, _exact_zone(rest), edit=message_id)
            return True
        if kind == "q":
            quiet: QuietHours | None = None if rest == "none" else _quiet_from_data(rest)
            await prefs.set_quiet(client, quiet, edit=message_id)
            return True
        if kind == "s":
            return await _settings_menu(prefs, client, specialist, rest, message_id)
        if kind == "p" and rest in {"1d", "1w", "2w", "open"}:
            await prefs.pause_choice(client, specialist, rest, message_id)
            return True
        if kind == "x" and rest in {"yes", "no"}:
            if rest == "yes":
                await prefs.stop(client, specialist, message_id)
            else:
                await prefs.keep(client, message_id)
            return True
        if kind == "f" and rest in {"yes", "no"}:
            erasure = services(context).erasure
            if rest == "yes":
                await erasure.erase(client, specialist, message_id)
                # Back to the menu everyone gets: no trace of their language choice stays.
                await set_menu(context.bot, services(context).texts, client.chat_id, None)
            else:
                await erasure.keep(client, message_id)
            return True
        if kind == "ci":
            return await _checkin_tap(context, client, specialist, data, message_id)
        if kind == "l":
            return await _language_tap(context, client, data, message_id)
    except (ValueError, ScheduleSyntaxError):
        return False
    return False


def _exact_zone(name: str) -> str:
    """A zone from button data, accepted only in its canonical spelling."""
    if parse_zone(name) != name:
        raise ValueError(name)
    return name


def _quiet_from_data(data: str) -> QuietHours:
    start, _, end = data.partition("-")
    quiet = parse_quiet(f"{start[:2]}:{start[2:]}-{end[:2]}:{end[2:]}")
    if quiet is None:
        raise ValueError(data)
    return quiet


async def _rhythm_step(prefs: Preferences, client: Client, rest: str, message_id: int) -> bool:
    """One tap in the rhythm dialogue: cadence, day(s), moment or time."""
    step, _, value = rest.partition(":")
    if step == "c":
        cadence = Cadence(value)
        if cadence is Cadence.WEEKLY:
            await prefs.show(client, message_id, prefs.weekly_question(client))
        elif cadence is Cadence.WEEKDAYS:
            await prefs.show(client, message_id, prefs.weekdays_question(client, 0))
        elif cadence is Cadence.WHEN_I_WRITE:
            await prefs.set_rhythm(client, prefs.build_rhythm(value, "0"), edit=message_id)
        else:
            await prefs.show(client, message_id, prefs.moment_question(client, cadence, 0))
        return True
    if step == "w" and value.isdigit() and int(value) < 7:
        question = prefs.moment_question(client, Cadence.WEEKLY, 1 << int(value))
        await prefs.show(client, message_id, question)
        return True
    if step in {"t", "d"} and value.isdigit() and 0 <= int(value) < 128:
        mask = int(value)
        if step == "t":
            await prefs.show(client, message_id, prefs.weekdays_question(client, mask))
        elif mask:
            await prefs.show(
                client, message_id, prefs.moment_question(client, Cadence.WEEKDAYS, mask)
            )
        return True
    parts = value.split(":")
    if step == "m" and len(parts) == 3:
        rhythm = prefs.build_rhythm(parts[0], parts[1], window=parts[2])
        await prefs.set_rhythm(client, rhythm, edit=message_id)
        return True
    if step == "s" and len(parts) == 2:
        cadence = Cadence(parts[0])
        prefs.build_rhythm(parts[0], parts[1], at="0900")  # validates the rest
        await prefs.await_time(client, cadence, int(parts[1]))
        await prefs.show(client, message_id, prefs.time_question(client, cadence, int(parts[1])))
        return True
    if step == "h" and len(parts) == 3:
        rhythm = prefs.build_rhythm(parts[0], parts[1], at=parts[2])
        await prefs.set_rhythm(client, rhythm, edit=message_id)
        return True
    return False


async def _settings_menu(
    prefs: Preferences, client: Client, specialist: Specialist, choice: str, message_id: int
) -> bool:
    questions = {
        "rhythm": lambda: prefs.cadence_question(client),
        "tz": lambda: prefs.timezone_question(client),
        "quiet": lambda: prefs.quiet_question(client),
        "pause": lambda: prefs.pause_question(client, specialist.display_name),
        "stop": lambda: prefs.stop_question(client, specialist.display_name),
    }
    if choice == "resume":
        await prefs.resume(client, specialist, edit=message_id)
        return True
    if choice not in questions:
        return False
    if choice == "tz":
        await prefs.await_timezone(client)
    await prefs.show(client, message_id, questions[choice]())
    return True


async def _checkin_tap(
    context: Context, client: Client, specialist: Specialist, data: str, message_id: int
) -> bool:
    parsed = parse_checkin_data(data)
    if parsed is None:
        return False
    due_at, answer = parsed
    found = services(context)
    tap = await found.checkins.answer(client, specialist, due_at, answer, message_id)
    if tap is Tap.DONE and answer == "talk":
        # "They'll write to you" while they are away needs saying until when.
        await found.away.note_if_away(client, specialist)
    if tap is Tap.PAUSE:
        prefs = found.preferences
        await prefs.ask(client, prefs.pause_question(client, specialist.display_name))
    return tap is not Tap.INVALID


async def _language_tap(context: Context, client: Client, data: str, message_id: int) -> bool:
    """A language button: under /language it is answered in place; under the first
    question after consent, that question turns into the chosen language."""
    found = services(context)
    parsed = parse_language_data(found.texts, data)
    if parsed is None:
        return False
    language, where = parsed
    if where == SETUP:
        chosen = await found.languages.change(client, language)
        if chosen.language != client.language:
            prefs = found.preferences
            await prefs.show(chosen, message_id, prefs.cadence_question(chosen, languages=True))
    else:
        chosen = await found.languages.choose(client, language, message_id)
    await _menu_follows(context, client, chosen)
    return True
