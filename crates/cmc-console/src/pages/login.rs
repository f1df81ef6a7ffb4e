//! The login page.

use maud::{DOCTYPE, Markup, html};

/// The login form; `token` is the value of its cookie. On a TLS listener
/// (`tls`) it also offers the login with the browser's client certificate.
pub(crate) fn page(
    token: &str,
    error: Option<&str>,
    loopback: bool,
    has_password: bool,
    tls: bool,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Log in · CMC CA console" }
                link rel="stylesheet" href="/static/console.css";
            }
            body {
                main id="main" .login {
                    h1 { "CMC CA console" }
                    @if let Some(e) = error {
                        p.notice.error role="alert" { (e) }
                    }
                    @if !has_password {
                        p.notice role="status" {
                            "No operator password is set. On the CA's host, run "
                            code { "cmc-tool console passwd --operator NAME" }
                            " (the password is read from a file, the environment or the terminal)."
                        }
                    }
                    @if !loopback {
                        p.notice role="status" {
                            "Password login works from the CA's host (loopback) only."
                        }
                    }
                    @if tls {
                        form.certificate method="post" action="/login" {
                            input type="hidden" name="login_token" value=(token);
                            input type="hidden" name="method" value="certificate";
                            p.hint { "Agents log in with the client certificate their browser presents." }
                            p { button type="submit" { "Log in with your certificate" } }
                        }
                    }
                    form method="post" action="/login" {
                        input type="hidden" name="login_token" value=(token);
                        p {
                            label for="operator" { "Operator" }
                            input id="operator" name="operator" type="text" required
                                autocomplete="username" autofocus;
                        }
                        p {
                            label for="password" { "Password" }
                            input id="password" name="password" type="password" required
                                autocomplete="current-password";
                        }
                        p { button type="submit" { "Log in" } }
                    }
                }
            }
        }
    }
}
