//! The CGI binary (`/www/cgi-bin/jammonitor`); all of it is `jammonitor::cgi`.

fn main() {
    jammonitor::cgi::main()
}
