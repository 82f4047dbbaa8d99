package slackchat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/slack-go/slack"

	"github.com/leasebot/leasebot/bot"
)

// replyTo is where the answer to one command or click goes.
type replyTo struct {
	url           string // the envelope's response_url; empty for clicks in the App Home
	channel, user string
	home          bool // a click in the App Home: there is no channel to answer in
}

// respond answers a command or click through its response_url, falling back
// to the Web API. It runs on a fresh short context: the answer to a change
// must go out even when the job's own context has ended.
func (a *Adapter) respond(ctx context.Context, to replyTo, r bot.Reply) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opt.HTTPTimeout)
	defer cancel()
	m := r.Message
	if to.home {
		// The App Home has no place for a reply: say it in the app's
		// direct message with the person.
		if _, err := a.Post(ctx, bot.Target{User: to.user}, m); err != nil {
			a.log.Warn("could not deliver a reply to an App Home click", "user", to.user, "err", err)
		}
		return
	}
	kind := slack.ResponseTypeEphemeral
	if m.InChannel {
		kind = slack.ResponseTypeInChannel
	}
	var err error
	if to.url != "" {
		opts := append(msgOptions(m), slack.MsgOptionResponseURL(to.url, kind))
		if r.Replace {
			opts = append(opts, slack.MsgOptionReplaceOriginal(to.url))
		}
		if _, _, err = a.api.PostMessageContext(ctx, to.channel, opts...); err == nil {
			return
		}
		a.log.Warn("response_url failed; falling back to the Web API", "err", withoutURL(err))
	}
	if m.InChannel {
		_, _, err = a.api.PostMessageContext(ctx, to.channel, msgOptions(m)...)
	} else {
		_, err = a.api.PostEphemeralContext(ctx, to.channel, to.user, msgOptions(m)...)
	}
	if err != nil {
		a.checkFatal(err)
		a.log.Warn("could not deliver a reply", "channel", to.channel, "user", to.user, "err", err)
	}
}

// Post posts a message in a channel, or in the app's direct message with a
// person, and returns where it landed.
func (a *Adapter) Post(ctx context.Context, to bot.Target, m bot.Message) (bot.MessageRef, error) {
	dest := to.Channel
	if to.User != "" {
		dest = to.User // chat.postMessage to a user ID posts in the app's DM with them
	}
	channel, ts, err := a.api.PostMessageContext(ctx, dest, msgOptions(m)...)
	if err != nil {
		a.checkFatal(err)
		return bot.MessageRef{}, fmt.Errorf("chat.postMessage to %s: %w", dest, undeliverable(err))
	}
	if channel == "" {
		channel = dest
	}
	return bot.MessageRef{Conversation: channel, ID: ts}, nil
}

// permanentPostErrors are chat.postMessage answers that retrying cannot fix.
var permanentPostErrors = map[string]bool{
	"not_in_channel": true, "channel_not_found": true, "is_archived": true,
	"restricted_action": true, "msg_too_long": true, "invalid_blocks": true,
	"user_not_found": true, "cannot_dm_bot": true, "messages_tab_disabled": true,
}

// undeliverable marks err with bot.ErrUndeliverable when Slack refused for good.
func undeliverable(err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentPostErrors[se.Err] {
		return fmt.Errorf("%w: %w", bot.ErrUndeliverable, err)
	}
	return err
}

// Update replaces a posted message in place.
func (a *Adapter) Update(ctx context.Context, ref bot.MessageRef, m bot.Message) error {
	if _, _, _, err := a.api.UpdateMessageContext(ctx, ref.Conversation, ref.ID, msgOptions(m)...); err != nil {
		a.checkFatal(err)
		return fmt.Errorf("chat.update %s/%s: %w", ref.Conversation, ref.ID, err)
	}
	return nil
}

// TimeZone is the user's time zone from users.info.
func (a *Adapter) TimeZone(ctx context.Context, user string) (*time.Location, error) {
	u, err := a.api.GetUserInfoContext(ctx, user)
	if err != nil {
		a.checkFatal(err)
		return nil, fmt.Errorf("users.info %s: %w", user, err)
	}
	if u.TZ != "" {
		if loc, err := time.LoadLocation(u.TZ); err == nil {
			return loc, nil
		}
	}
	return time.FixedZone(u.TZLabel, u.TZOffset), nil
}

// GroupMembers lists a user group's members with usergroups.users.list.
func (a *Adapter) GroupMembers(ctx context.Context, group string) ([]string, error) {
	users, err := a.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		a.checkFatal(err)
		return nil, fmt.Errorf("usergroups.users.list %s: %w", group, err)
	}
	return users, nil
}

// PublishHome shows a person's App Home with views.publish.
func (a *Adapter) PublishHome(ctx context.Context, user string, h bot.Home) error {
	if _, err := a.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: homeView(h)}); err != nil {
		a.checkFatal(err)
		return fmt.Errorf("views.publish for %s: %w", user, err)
	}
	return nil
}

// withoutURL drops the URL from a transport error: a response_url is a
// capability and does not belong in a log.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s response_url: %w", ue.Op, ue.Err)
	}
	return err
}
